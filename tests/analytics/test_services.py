"""user_identify and users_merge: what moves, how unique conflicts combine, and what stays apart."""
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
    UserAlias,
    UserEventDaily,
)
from analytics.services import user_identify, users_merge
from onboarding.models import Guide
from tests.factories import make_event_payload, make_guide, make_survey_response

T0 = timezone.now().replace(microsecond=0) - timedelta(days=2)
MERGE_CALLS: list[dict] = []


def record_merge(**kwargs):
    MERGE_CALLS.append(kwargs)


def write(application, *events):
    batch = validate_batch({"events": list(events)}, now=timezone.now())
    assert not batch.rejected, batch.rejected
    events_write(application_id=application.id, events=batch.events, received_at=timezone.now())


@pytest.fixture
def pair(application):
    """An anonymous visitor and an identified user, each with history that overlaps the other's."""
    tour = make_guide(application, Guide.Kind.TOUR)
    checklist = make_guide(application, Guide.Kind.CHECKLIST)
    item = checklist.items.get()
    anon = dict(user_id=None, anonymous_id="anon-1")
    known = dict(user_id="u-1")
    write(
        application,
        make_event_payload("report_viewed", at=T0, **anon),
        make_event_payload("report_viewed", at=T0 + timedelta(minutes=1), **anon),
        make_event_payload("$guide_shown", at=T0, session_id="s-a", properties={"guide_id": tour.id}, **anon),
        make_event_payload("$checklist_item_completed", at=T0 + timedelta(minutes=5), properties={"item_id": item.id},
                           **anon),
        make_event_payload("integration_connected", at=T0 + timedelta(minutes=6), **anon),
    )
    write(
        application,
        make_event_payload("report_viewed", at=T0 + timedelta(minutes=2), **known),
        make_event_payload("$guide_shown", at=T0 + timedelta(hours=1), session_id="s-k", properties={"guide_id": tour.id},
                           **known),
        make_event_payload("$guide_dismissed", at=T0 + timedelta(hours=2), properties={"guide_id": tour.id}, **known),
        make_event_payload("$checklist_item_completed", at=T0 + timedelta(hours=3), properties={"item_id": item.id},
                           **known),
    )
    survey = make_guide(application, Guide.Kind.SURVEY)
    anonymous = UserAlias.objects.get(anonymous_id="anon-1").user
    make_survey_response(anonymous, survey, 8, T0)
    return {"anonymous": anonymous, "identified": EndUser.objects.get(external_id="u-1"), "tour": tour, "item": item}


def test_users_merge__history__moves_and_conflicts_combine(application, pair, settings):
    settings.WAYLINE_USER_MERGE_HOOKS = [f"{__name__}.record_merge"]
    MERGE_CALLS.clear()
    source, target = pair["anonymous"], pair["identified"]
    users_merge(application_id=application.id, source_id=source.pk, target_id=target.pk)

    assert not EndUser.objects.filter(pk=source.pk).exists()
    assert target.events.count() == 9
    # Daily counters of the same event and day add up
    assert UserEventDaily.objects.get(user=target, name="report_viewed", day=T0.date()).count == 3
    # Guide state: counts add, first/last are the extremes, the latest session wins, dismissal kept
    state = GuideState.objects.get(user=target, guide=pair["tour"])
    assert (state.seen_count, state.first_seen_at, state.last_seen_at) == (2, T0, T0 + timedelta(hours=1))
    assert state.last_session_id == "s-k" and state.dismissed_at == T0 + timedelta(hours=2)
    # A checklist item completed by both counts from the first completion
    assert ChecklistItemCompletion.objects.get(user=target, item=pair["item"]).completed_at == T0 + timedelta(minutes=5)
    assert SurveyResponse.objects.get().user_id == target.pk
    assert UserAlias.objects.get(anonymous_id="anon-1").user_id == target.pk
    # The further journey stage (activation, reached while anonymous) is kept with its entry time
    target.refresh_from_db()
    assert target.stage.slug == "activation" and target.stage_entered_at == T0 + timedelta(minutes=6)
    assert target.first_seen_at == T0 and target.last_seen_at == T0 + timedelta(hours=3)
    assert set(StageTransition.objects.filter(user=target).values_list("to_stage__slug", flat=True)) == {
        "signup", "activation"}
    assert MERGE_CALLS == [{"application_id": application.id, "source_user_id": source.pk, "target_user_id": target.pk}]


def test_users_merge__transition_at_same_time_and_stage__kept_once(application):
    write(application, make_event_payload("$pageview", at=T0, user_id=None, anonymous_id="anon-1"),
          make_event_payload("$pageview", at=T0, user_id="u-1"))
    source = UserAlias.objects.get(anonymous_id="anon-1").user
    target = EndUser.objects.get(external_id="u-1")
    users_merge(application_id=application.id, source_id=source.pk, target_id=target.pk)
    assert list(StageTransition.objects.values_list("user_id", "to_stage__slug", "at")) == [(target.pk, "signup", T0)]


def test_users_merge__traits__identified_wins_anonymous_fills_gaps(application):
    user_identify(application_id=application.id, user_id=None, anonymous_id="anon-1",
                  traits={"utm_source": "ads", "plan": "free"})
    user_identify(application_id=application.id, user_id="u-1", anonymous_id=None, traits={"plan": "pro"})
    user_identify(application_id=application.id, user_id="u-1", anonymous_id="anon-1")
    assert EndUser.objects.get().traits == {"utm_source": "ads", "plan": "pro"}


def test_users_merge__users_of_different_applications__refused(application):
    from tests.factories import make_application

    other = make_application("Other")
    mine = user_identify(application_id=application.id, user_id="u-1", anonymous_id=None)
    theirs = user_identify(application_id=other.id, user_id=None, anonymous_id="anon-1")
    with pytest.raises(ValueError):
        users_merge(application_id=application.id, source_id=theirs.user_pk, target_id=mine.user_pk)
    assert EndUser.objects.count() == 2


def test_user_identify__trait_rule_stage__re_evaluated_at_identify(application):
    stage = application.stages.get(slug="expansion")
    stage.entry_rule = {"trait": "plan", "op": "eq", "value": "enterprise"}
    stage.save()
    now = timezone.now()
    result = user_identify(application_id=application.id, user_id="u-1", anonymous_id=None,
                           traits={"plan": "enterprise"}, now=now)
    assert result.stage == "expansion"
    assert StageTransition.objects.get(to_stage=stage).at == now
