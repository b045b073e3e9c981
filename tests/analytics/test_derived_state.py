"""State derived from newly stored events: seen times, counters, stages, guide state, checklists, surveys, hooks."""
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.ingest.validation import validate_batch
from analytics.ingest.writer import events_write
from analytics.models import (
    ChecklistItemCompletion,
    EndUser,
    GuideState,
    StageTransition,
    SurveyResponse,
    UserEventDaily,
)
from onboarding.journey import FEATURE_EVENTS
from onboarding.models import ChecklistItem, Guide
from onboarding.services import guide_publish
from tests.factories import make_application, make_event_payload, make_guide

NOW = timezone.now().replace(microsecond=0)
HOOK_CALLS: list[dict] = []


def record_hook(*, application_id, events):
    HOOK_CALLS.append({"application_id": application_id, "events": events})


def write(application, *events, now=None):
    batch = validate_batch({"events": list(events)}, now=now or timezone.now())
    assert not batch.rejected, batch.rejected
    return events_write(application_id=application.id, events=batch.events, received_at=timezone.now())


def payload(name, **fields):
    fields.setdefault("user_id", "u-1")
    return make_event_payload(name, **fields)


def ev(name, minutes_ago, user_id="u-1", **properties):
    return make_event_payload(name, user_id=user_id, at=NOW - timedelta(minutes=minutes_ago), properties=properties)


def snapshot(application):
    users = list(EndUser.objects.filter(application=application).order_by("pk").values(
        "pk", "first_seen_at", "last_seen_at", "stage_id", "stage_entered_at"))
    return {
        "users": users,
        "daily": sorted(UserEventDaily.objects.values_list("user_id", "name", "day", "count")),
        "transitions": sorted(StageTransition.objects.values_list("user_id", "to_stage_id", "at")),
        "guide_states": sorted(GuideState.objects.values_list(
            "user_id", "guide_id", "seen_count", "first_seen_at", "last_seen_at", "last_session_id", "dismissed_at",
            "completed_at", "render_failed_count")),
        "completions": sorted(ChecklistItemCompletion.objects.values_list("user_id", "item_id", "completed_at")),
        "surveys": sorted(SurveyResponse.objects.values_list("event_id", "score")),
    }


@pytest.fixture
def survey(application):
    guide = make_guide(application, Guide.Kind.SURVEY, survey_kind=Guide.SurveyKind.NPS)
    guide_publish(guide=guide)
    return guide


@pytest.fixture
def tour(application):
    guide = make_guide(application, Guide.Kind.TOUR)
    guide_publish(guide=guide)
    return guide


def test_derived__same_events_written_twice__nothing_changes(application, survey, tour):
    events = [
        ev("$pageview", 50), ev("onboarding_started", 40), ev("integration_connected", 30),
        ev("$guide_shown", 20, guide_id=tour.id), ev("$guide_dismissed", 19, guide_id=tour.id),
        ev("$survey_submitted", 10, guide_id=survey.id, score=9, comment="great"),
    ]
    first = write(application, *events)
    before = snapshot(application)
    second = write(application, *events)
    assert (first.new, second.new, second.duplicates) == (6, 0, 6)
    assert snapshot(application) == before
    assert sum(row[3] for row in before["daily"]) == 6


def test_derived__seen_times__min_and_max_across_batches(application):
    write(application, ev("a", 30), ev("a", 20))
    write(application, ev("a", 40), ev("a", 25))
    user = EndUser.objects.get(external_id="u-1")
    assert user.first_seen_at == NOW - timedelta(minutes=40)
    assert user.last_seen_at == NOW - timedelta(minutes=20)


def test_derived__daily_counters__per_user_event_and_utc_day(application):
    yesterday = NOW - timedelta(days=1)
    write(application, ev("report_viewed", 1), ev("report_viewed", 2), ev("report_viewed", 3, user_id="u-2"),
          payload("report_viewed", at=yesterday))
    rows = {(user, day): count for user, day, count in
            UserEventDaily.objects.filter(name="report_viewed").values_list("user__external_id", "day", "count")}
    assert rows[("u-1", (NOW - timedelta(minutes=1)).date())] + rows.get(("u-1", yesterday.date()), 0) == 3
    assert rows[("u-2", (NOW - timedelta(minutes=3)).date())] == 1


def test_derived__stage_transitions__timestamped_with_causing_event(application):
    # Given one batch, in no particular order, that takes a user from sign-up to activation
    write(application, ev("integration_connected", 10), ev("$pageview", 30), ev("onboarding_started", 20))
    # Then each transition carries the time of the event that caused it
    transitions = list(StageTransition.objects.order_by("at").values_list("from_stage__slug", "to_stage__slug", "at"))
    assert transitions == [
        (None, "signup", NOW - timedelta(minutes=30)),
        ("signup", "onboarding", NOW - timedelta(minutes=20)),
        ("onboarding", "activation", NOW - timedelta(minutes=10)),
    ]
    user = EndUser.objects.get(external_id="u-1")
    assert (user.stage.slug, user.stage_entered_at) == ("activation", NOW - timedelta(minutes=10))


def test_derived__stage_across_batches__event_named_by_rule_moves_user(application):
    write(application, ev("$pageview", 30))
    assert EndUser.objects.get(external_id="u-1").stage.slug == "signup"
    write(application, ev("report_viewed", 25))  # named by no rule that now holds
    write(application, ev("integration_connected", 5))
    user = EndUser.objects.get(external_id="u-1")
    assert (user.stage.slug, user.stage_entered_at) == ("activation", NOW - timedelta(minutes=5))
    assert StageTransition.objects.filter(user=user).count() == 2


def test_derived__windowed_rule__five_features_within_fourteen_days_reach_adoption(application):
    # Given four features used 20 days ago and the fifth today: only one counts in the window
    old = [payload(name, at=NOW - timedelta(days=20)) for name in FEATURE_EVENTS[:4]]
    write(application, *old)
    write(application, ev(FEATURE_EVENTS[4], 60))
    assert EndUser.objects.get(external_id="u-1").stage.slug == "activation"
    # When four more distinct features follow within the window
    write(application, *[ev(name, 50 - i) for i, name in enumerate(FEATURE_EVENTS[:4])])
    # Then the user reaches adoption at the fifth distinct feature of the window
    user = EndUser.objects.get(external_id="u-1")
    assert user.stage.slug == "adoption"
    assert user.stage_entered_at == NOW - timedelta(minutes=47)


def test_derived__late_event_before_stage_entry__counted_but_history_kept(application):
    write(application, ev("$pageview", 10))
    write(application, ev("onboarding_started", 60))  # older than the sign-up transition
    user = EndUser.objects.get(external_id="u-1")
    assert UserEventDaily.objects.filter(user=user, name="onboarding_started").exists()
    assert list(StageTransition.objects.filter(user=user).values_list("to_stage__slug", flat=True)) == ["signup"]


def test_derived__guide_events__state_counts_times_and_session(application, tour):
    write(
        application,
        payload("$guide_shown", at=NOW - timedelta(minutes=30), session_id="s-1", properties={"guide_id": tour.id}),
        payload("$guide_shown", at=NOW - timedelta(minutes=10), session_id="s-2", properties={"guide_id": tour.id}),
        ev("$guide_dismissed", 9, guide_id=tour.id), ev("$guide_render_failed", 8, guide_id=tour.id),
        ev("$guide_step_viewed", 7, guide_id=tour.id),
    )
    # A late showing from an older session moves first_seen only
    write(application, payload("$guide_shown", at=NOW - timedelta(minutes=50), session_id="s-0",
                                          properties={"guide_id": str(tour.id)}),
          ev("$guide_completed", 5, guide_id=tour.id), ev("$guide_dismissed", 4, guide_id=tour.id))
    state = GuideState.objects.get(guide=tour)
    assert state.seen_count == 3
    assert state.first_seen_at == NOW - timedelta(minutes=50)
    assert state.last_seen_at == NOW - timedelta(minutes=10)
    assert state.last_session_id == "s-2"
    assert state.dismissed_at == NOW - timedelta(minutes=9)  # the first dismissal
    assert state.completed_at == NOW - timedelta(minutes=5)
    assert state.render_failed_count == 1


def test_derived__guide_of_another_application__ignored(application):
    other_guide = make_guide(make_application("Other"), Guide.Kind.TOUR)
    write(application, ev("$guide_shown", 5, guide_id=other_guide.id), ev("$guide_shown", 4, guide_id="nope"))
    assert GuideState.objects.count() == 0


def test_derived__survey_submitted__response_row_with_stage(application, survey):
    event = ev("$survey_submitted", 5, guide_id=survey.id, score=9, comment="Love it")
    write(application, ev("integration_connected", 10), event)
    response = SurveyResponse.objects.get()
    assert (str(response.event_id), response.kind, response.score, response.comment) == (event["id"], "nps", 9, "Love it")
    assert response.stage_slug == "activation"
    assert response.responded_at == NOW - timedelta(minutes=5)
    assert response.user.external_id == "u-1"


@pytest.mark.parametrize("score", [11, -1, "9", True, None], ids=["above", "below", "string", "boolean", "missing"])
def test_derived__survey_score_out_of_range__event_kept_no_response(application, survey, score):
    result = write(application, ev("$survey_submitted", 5, guide_id=survey.id, score=score))
    assert result.new == 1
    assert SurveyResponse.objects.count() == 0


def test_derived__csat_survey__scores_one_to_five(application):
    csat = make_guide(application, Guide.Kind.SURVEY, survey_kind=Guide.SurveyKind.CSAT)
    write(application, ev("$survey_submitted", 5, guide_id=csat.id, score=5),
          ev("$survey_submitted", 4, guide_id=csat.id, score=0, user_id="u-2"))
    assert list(SurveyResponse.objects.values_list("kind", "score")) == [("csat", 5)]


def test_derived__survey_for_non_survey_guide__ignored(application, tour):
    write(application, ev("$survey_submitted", 5, guide_id=tour.id, score=5))
    assert SurveyResponse.objects.count() == 0


@pytest.fixture
def checklist(application, tour):
    guide = make_guide(application, Guide.Kind.CHECKLIST)  # item 1: completed by integration_connected
    ChecklistItem.objects.create(guide=guide, order=2, title="Tour", completion=ChecklistItem.Completion.TOUR,
                                 completion_tour=tour)
    ChecklistItem.objects.create(guide=guide, order=3, title="Settings", completion=ChecklistItem.Completion.URL,
                                 completion_url="/settings/")
    ChecklistItem.objects.create(guide=guide, order=4, title="Manual", completion=ChecklistItem.Completion.EVENT,
                                 completion_event="never_sent")
    guide_publish(guide=guide)
    return guide


def completed(user_id="u-1"):
    return dict(ChecklistItemCompletion.objects.filter(user__external_id=user_id).values_list("item__title", "completed_at"))


def test_derived__checklist__completed_by_event_tour_url_and_explicit(application, checklist, tour):
    manual = checklist.items.get(title="Manual")
    write(
        application,
        ev("integration_connected", 40), ev("integration_connected", 45),
        ev("$guide_completed", 30, guide_id=tour.id),
        payload("$pageview", at=NOW - timedelta(minutes=20), url="https://app.acme.test/settings/team"),
        ev("$checklist_item_completed", 10, item_id=manual.id, guide_id=checklist.id),
    )
    assert completed() == {
        "Connect": NOW - timedelta(minutes=45),  # the first of two completions
        "Tour": NOW - timedelta(minutes=30),
        "Settings": NOW - timedelta(minutes=20),
        "Manual": NOW - timedelta(minutes=10),
    }


def test_derived__checklist__non_matching_url_and_other_tour__nothing(application, checklist):
    other_tour = make_guide(application, Guide.Kind.TOUR, name="Other tour")
    write(application, payload("$pageview", url="https://app.acme.test/profile"),
          ev("$guide_completed", 5, guide_id=other_tour.id))
    assert completed() == {}


def test_derived__checklist_item_of_another_application__ignored(application, checklist):
    foreign = make_guide(make_application("Other"), Guide.Kind.CHECKLIST).items.get()
    write(application, ev("$checklist_item_completed", 5, item_id=foreign.id))
    assert ChecklistItemCompletion.objects.count() == 0


def test_derived__unpublished_checklist__event_rules_not_applied(application):
    make_guide(application, Guide.Kind.CHECKLIST)  # a draft: the snippet never showed it
    write(application, ev("integration_connected", 5))
    assert ChecklistItemCompletion.objects.count() == 0


def test_derived__hooks__called_once_with_new_events_and_user_ids(application, settings):
    settings.WAYLINE_INGEST_HOOKS = [f"{__name__}.record_hook"]
    HOOK_CALLS.clear()
    exposure = ev("$exposure", 5, experiment_id=3, variant="b")
    write(application, exposure, ev("$pageview", 4))
    write(application, exposure)  # a duplicate: no new events, no call
    assert len(HOOK_CALLS) == 1
    call = HOOK_CALLS[0]
    assert call["application_id"] == application.id
    assert [e["id"] for e in call["events"]] == [exposure["id"], call["events"][1]["id"]]
    user = EndUser.objects.get(external_id="u-1")
    assert {e["user_id"] for e in call["events"]} == {user.pk}
    assert call["events"][0]["properties"] == {"experiment_id": 3, "variant": "b"}
    assert call["events"][0]["timestamp"] == NOW - timedelta(minutes=5)
