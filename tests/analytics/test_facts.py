"""Selectors that load one user's facts for the content decision, and how many queries they cost."""
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.facts import event_counts_get, user_snapshot_get
from onboarding.config_cache import published_config_clear, published_config_get
from onboarding.models import Guide
from onboarding.services import segment_save
from tests.factories import (
    make_account_with_traits,
    make_application,
    make_daily_count,
    make_guide,
    make_guide_state,
    make_known_user,
    make_live_guide,
    make_segment,
)

TODAY = date(2025, 3, 10)


@pytest.fixture(autouse=True)
def _empty_config_cache():
    published_config_clear()
    yield
    published_config_clear()


def snapshot_of(application, user_id="user-1", anonymous_id=None):
    return user_snapshot_get(application=application, user_id=user_id, anonymous_id=anonymous_id, today=TODAY)


def test_user_snapshot_get__external_id__user_with_account_traits(application):
    account = make_account_with_traits(application, size=40)
    user = make_known_user(application, "u-1", traits={"role": "admin"}, account=account, stage="activation")
    snapshot = snapshot_of(application, "u-1")
    assert snapshot.user == user
    assert snapshot.user.external_id == "u-1"
    assert dict(snapshot.facts.traits) == {"role": "admin"}
    assert dict(snapshot.facts.account_traits) == {"size": 40}
    assert snapshot.facts.stage == "activation"
    assert snapshot.facts.reached_stages == {"signup", "onboarding", "activation"}


def test_user_snapshot_get__anonymous_id__user_behind_the_alias(application):
    user = make_known_user(application, None, traits={"persona": "founder"}, anonymous_ids=("anon-1", "anon-2"))
    snapshot = snapshot_of(application, None, "anon-2")
    assert snapshot.user == user
    assert dict(snapshot.facts.traits) == {"persona": "founder"}


def test_user_snapshot_get__user_id_and_anonymous_id__user_id_wins(application):
    make_known_user(application, None, traits={"who": "anonymous"}, anonymous_ids=("anon-1",))
    make_known_user(application, "u-1", traits={"who": "identified"})
    assert snapshot_of(application, "u-1", "anon-1").facts.traits == {"who": "identified"}


@pytest.mark.parametrize(
    ("user_id", "anonymous_id"),
    [("nobody", None), (None, "anon-nobody"), (None, None)],
    ids=["unknown-external-id", "unknown-anonymous-id", "neither"],
)
def test_user_snapshot_get__unknown__new_user_at_first_stage_nothing_created(application, user_id, anonymous_id):
    from analytics.models import EndUser

    snapshot = snapshot_of(application, user_id, anonymous_id)
    assert snapshot.user is None
    assert (snapshot.facts.stage, dict(snapshot.facts.traits), snapshot.states) == ("signup", {}, {})
    assert not EndUser.objects.exists()


def test_user_snapshot_get__other_applications_user__not_found(application):
    other = make_application("Other")
    make_known_user(other, "u-1", anonymous_ids=("anon-1",))
    assert snapshot_of(application, "u-1").user is None
    assert snapshot_of(application, None, "anon-1").user is None


def test_event_counts_get__windows__calendar_days_ending_today(application, django_assert_num_queries):
    user = make_known_user(application)
    make_daily_count(user, "report_viewed", TODAY, 2)
    make_daily_count(user, "report_viewed", TODAY - timedelta(days=6), 3)
    make_daily_count(user, "report_viewed", TODAY - timedelta(days=7), 5)
    make_daily_count(user, "report_viewed", TODAY - timedelta(days=400), 7)
    make_daily_count(user, "invited", TODAY - timedelta(days=1), 1)
    make_daily_count(make_known_user(application, "u-2"), "report_viewed", TODAY, 100)
    keys = [("report_viewed", 1), ("report_viewed", 7), ("report_viewed", 8), ("report_viewed", None),
            ("invited", 1), ("never_done", 30)]
    with django_assert_num_queries(1):
        counts = event_counts_get(user_id=user.id, keys=keys, today=TODAY)
    assert counts == {
        ("report_viewed", 1): 2,
        ("report_viewed", 7): 5,
        ("report_viewed", 8): 10,
        ("report_viewed", None): 17,
        ("invited", 1): 0,
        ("never_done", 30): 0,
    }


def test_event_counts_get__no_keys__no_query(application, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert event_counts_get(user_id=1, keys=[], today=TODAY) == {}


def test_user_snapshot_get__states_and_completions__this_users_only(application):
    from analytics.models import ChecklistItemCompletion
    from onboarding.models import ChecklistItem

    user, other = make_known_user(application), make_known_user(application, "u-2")
    tour = make_guide(application, Guide.Kind.TOUR)
    manual = make_guide(application, Guide.Kind.BAR, trigger=Guide.Trigger.MANUAL)
    at = datetime(2025, 3, 9, 8, tzinfo=UTC)
    make_guide_state(user, tour, seen_count=2, last_seen_at=at, last_session_id="s-9", dismissed_at=at)
    make_guide_state(user, manual, seen_count=1)
    make_guide_state(other, tour, seen_count=5)
    checklist = make_guide(application, Guide.Kind.CHECKLIST)
    first = checklist.items.get()
    second = ChecklistItem.objects.create(guide=checklist, order=2, title="Invite", completion_event="invited")
    ChecklistItemCompletion.objects.create(user=user, item=first, completed_at=at)
    ChecklistItemCompletion.objects.create(user=other, item=second, completed_at=at)
    snapshot = snapshot_of(application)
    states, completed = snapshot.states, snapshot.completed_items
    assert set(states) == {tour.id, manual.id}
    assert states[tour.id].seen_count == 2
    assert states[manual.id].last_seen_at is None
    assert (states[tour.id].last_seen_at, states[tour.id].dismissed_at) == (at, at)
    assert (states[tour.id].last_session_id, states[tour.id].completed_at) == ("s-9", None)
    assert completed == {first.id}


def test_user_snapshot_get__known_user_warm_cache__one_query_with_every_fact(
    application, django_assert_num_queries
):
    segment = make_segment(application, rule={"all": [
        {"trait": "role", "op": "eq", "value": "admin"},
        {"account_trait": "plan", "op": "eq", "value": "pro"},
        {"event": "report_viewed", "min_count": 2, "within_days": 7},
        {"distinct_events": ["a", "b"], "within_days": 30},
    ]})
    segment_save(segment=segment)
    guide = make_live_guide(application, segment=segment)
    account = make_account_with_traits(application, plan="pro")
    user = make_known_user(application, traits={"role": "admin"}, account=account, stage="activation")
    make_daily_count(user, "report_viewed", TODAY, 2)
    make_daily_count(user, "report_viewed", TODAY - timedelta(days=7), 9)
    make_daily_count(user, "b", TODAY - timedelta(days=29), 1)
    make_guide_state(user, guide, seen_count=1)
    snapshot_of(application, "stranger")  # builds the configuration
    with django_assert_num_queries(1):
        snapshot = snapshot_of(application)
    assert snapshot.facts.event_counts == {("report_viewed", 7): 2, ("a", 30): 0, ("b", 30): 1}
    assert snapshot.facts.distinct_counts == {(("a", "b"), 30): 1}
    assert snapshot.states[guide.id].seen_count == 1
    assert snapshot.config.by_id.keys() == {guide.id}


def test_user_snapshot_get__configuration_changed__counters_of_the_new_rules(application):
    user = make_known_user(application)
    make_daily_count(user, "invited", TODAY, 3)
    snapshot_of(application)  # cached configuration: no segment, no counters
    segment = make_segment(application, rule={"event": "invited", "min_count": 3})
    make_live_guide(application, segment=segment)
    assert snapshot_of(application).facts.event_counts == {("invited", None): 3}
    # And the next request reads them in its one query.
    assert snapshot_of(application).facts.event_counts == {("invited", None): 3}


def test_user_snapshot_get__unknown_user_warm_cache__one_query(application, django_assert_num_queries):
    make_live_guide(application)
    snapshot_of(application, "stranger")
    with django_assert_num_queries(1):
        snapshot = snapshot_of(application, "stranger")
    assert snapshot.user is None
    assert len(snapshot.config.guides) == 1


def test_user_snapshot_get__version_token__same_as_the_caches_own_read(application, django_assert_num_queries):
    # The version read inside the visitor query and the cache's own read must agree, or a
    # preview (which reads it alone) and a decision would rebuild the configuration in turn.
    make_live_guide(application)
    built = snapshot_of(application, "stranger").config
    with django_assert_num_queries(1):
        assert published_config_get(application=application) is built
    assert snapshot_of(application, "stranger").config is built
