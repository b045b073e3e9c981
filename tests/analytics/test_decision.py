"""The pure content decision on hand-written payloads, states and facts, with an injected clock."""
from datetime import UTC, datetime, timedelta

import pytest

from analytics.decision import Visit, decide, guide_content, throttle_trim, user_facts_for
from analytics.decision_rules import UserGuideState
from onboarding.config_cache import published_config_build
from onboarding.rules import UserFacts
from tests.factories import make_guide_payload

NOW = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
STAGES = [(1, "signup"), (2, "onboarding"), (3, "activation"), (4, "adoption")]
PAGE = "https://app.acme.test/settings/team?tab=members#invite"


def config(*payloads, segments=None, per_hour=0, per_day=0, manual_guide_ids=()):
    return published_config_build(
        application_id=1,
        version=3,
        payloads=payloads,
        segments=segments or {},
        stages=STAGES,
        theme={"primary_color": "#4f46e5"},
        throttle_per_hour=per_hour,
        throttle_per_day=per_day,
        manual_guide_ids=manual_guide_ids,
    )


def facts(stage="signup", **fields):
    return user_facts_for(
        config=config(),
        traits=fields.pop("traits", {}),
        account_traits=fields.pop("account_traits", {}),
        stage=stage,
        event_counts=fields.pop("event_counts", {}),
    )


def ids(cfg, *, url=PAGE, device="desktop", session="s1", guide_id=None, now=NOW, user=None, states=None,
        experiment_drops=()):
    """The guide ids the user gets: decide, (an experiment dropping some), then the throttle's trim."""
    visit = Visit(url=url, now=now, device=device, session_id=session, guide_id=guide_id)
    states = states or {}
    chosen = decide(cfg, visit, user or facts(), states)
    payloads = [guide_content(guide, states.get(guide.id)) for guide in chosen if guide.id not in experiment_drops]
    return [payload["id"] for payload in throttle_trim(cfg, payloads, visit, states)]


def seen(minutes_ago=600, *, count=1, session="old", **fields):
    return UserGuideState(
        seen_count=count, last_seen_at=NOW - timedelta(minutes=minutes_ago), last_session_id=session, **fields
    )


# --- targeting -------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("stages", "user_stage", "shown"),
    [
        ([], "adoption", True),
        (["activation"], "activation", True),
        (["activation", "adoption"], "adoption", True),
        (["activation"], "onboarding", False),
        (["signup"], None, True),
        (["onboarding"], None, False),
    ],
    ids=["no-stages-any-user", "current-stage", "one-of-several", "other-stage", "unplaced-is-signup",
         "unplaced-not-later-stage"],
)
def test_decide__stages__only_users_at_those_stages(stages, user_stage, shown):
    cfg = config(make_guide_payload(1, stages=stages))
    assert ids(cfg, user=facts(stage=user_stage)) == ([1] if shown else [])


def test_user_facts_for__unplaced_user__first_stage_reached_only():
    user = facts(stage=None)
    assert (user.stage, user.reached_stages) == ("signup", frozenset({"signup"}))
    assert facts(stage="activation").reached_stages == frozenset({"signup", "onboarding", "activation"})


@pytest.mark.parametrize(
    ("user", "shown"),
    [
        ({"traits": {"persona": "founder"}, "account_traits": {"size": 50}}, True),
        ({"traits": {"persona": "developer"}, "account_traits": {"size": 50}}, False),
        ({"traits": {"persona": "founder"}, "account_traits": {"size": 3}}, False),
        ({"traits": {"persona": "founder"}}, False),
    ],
    ids=["both-match", "user-trait-differs", "account-trait-too-small", "no-account"],
)
def test_decide__segment_on_user_and_account_traits__members_only(user, shown):
    rule = {"all": [{"trait": "persona", "op": "eq", "value": "founder"},
                    {"account_trait": "size", "op": "gte", "value": 10}]}
    cfg = config(make_guide_payload(1, segment_id=7), segments={7: rule})
    assert ids(cfg, user=facts(**user)) == ([1] if shown else [])


def test_decide__segment_on_behaviour__reads_the_counters_required():
    rule = {"event": "report_viewed", "min_count": 3, "within_days": 7}
    cfg = config(make_guide_payload(1, segment_id=7), segments={7: rule})
    assert cfg.counter_keys == {("report_viewed", 7)}
    assert ids(cfg, user=facts(event_counts={("report_viewed", 7): 3})) == [1]
    assert ids(cfg, user=facts(event_counts={("report_viewed", 7): 2})) == []


@pytest.mark.parametrize(
    "segments",
    [{}, {7: {"trait": "plan", "op": "shout"}}],
    ids=["segment-gone", "segment-rule-invalid"],
)
def test_decide__segment_unusable__guide_never_shown(segments):
    cfg = config(make_guide_payload(1, segment_id=7), make_guide_payload(2), segments=segments)
    assert ids(cfg) == [2]


@pytest.mark.parametrize(
    ("rules", "url", "shown"),
    [
        ([], PAGE, True),
        ([("/settings/team", "exact", False)], PAGE, True),
        ([("/settings", "exact", False)], PAGE, False),
        ([("/settings/", "prefix", False)], PAGE, True),
        ([("/billing", "prefix", False)], PAGE, False),
        ([("/settings/*", "glob", False)], PAGE, True),
        ([("/*/members", "glob", False)], PAGE, False),
        ([(r"^/settings/(team|roles)$", "regex", False)], PAGE, True),
        ([(r"tab=billing", "regex", False)], PAGE, False),
        ([("/billing", "prefix", False), ("/settings", "prefix", False)], PAGE, True),
        ([("/settings", "prefix", False), ("/settings/team", "exact", True)], PAGE, False),
        ([("/settings", "prefix", False), ("**/roles", "glob", True)], PAGE, True),
        ([("/settings/old", "prefix", True)], PAGE, True),
        ([("https://app.acme.test/settings/**", "glob", False)], PAGE, True),
    ],
    ids=["no-rules", "exact", "exact-other", "prefix", "prefix-other", "glob", "glob-other", "regex",
         "regex-other", "any-include", "exclude-wins", "exclude-other", "exclude-only", "full-url-glob"],
)
def test_decide__url_rules__include_any_and_exclude_none(rules, url, shown):
    cfg = config(make_guide_payload(1, url_rules=rules))
    assert ids(cfg, url=url) == ([1] if shown else [])


@pytest.mark.parametrize(
    ("guide_device", "visit_device", "shown"),
    [("any", "mobile", True), ("desktop", "desktop", True), ("desktop", "mobile", False),
     ("mobile", "mobile", True), ("mobile", "desktop", False)],
    ids=["any", "desktop-on-desktop", "desktop-on-mobile", "mobile-on-mobile", "mobile-on-desktop"],
)
def test_decide__device__guide_device_any_or_same(guide_device, visit_device, shown):
    assert ids(config(make_guide_payload(1, device=guide_device)), device=visit_device) == ([1] if shown else [])


@pytest.mark.parametrize(
    ("starts", "ends", "shown"),
    [
        (None, None, True),
        (NOW - timedelta(days=1), None, True),
        (NOW, NOW + timedelta(seconds=1), True),
        (NOW + timedelta(seconds=1), None, False),
        (None, NOW, False),
        (NOW - timedelta(days=2), NOW - timedelta(days=1), False),
    ],
    ids=["open", "started", "starts-now", "not-yet", "ends-now", "over"],
)
def test_decide__schedule__only_between_start_and_end(starts, ends, shown):
    payload = make_guide_payload(
        1, starts_at=starts.isoformat() if starts else None, ends_at=ends.isoformat() if ends else None
    )
    assert ids(config(payload)) == ([1] if shown else [])


# --- frequency ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("frequency", "state", "shown"),
    [
        ("once", None, True),
        ("once", seen(), False),
        ("once", seen(session="s1"), True),
        ("once", seen(session="s1", dismissed_at=NOW), False),
        ("until_done", seen(count=9), True),
        ("until_done", seen(dismissed_at=NOW - timedelta(days=1)), False),
        ("until_done", seen(completed_at=NOW - timedelta(days=1)), False),
        ("every_session", seen(completed_at=NOW - timedelta(days=1)), True),
        ("every_session", seen(session="s1"), True),
        ("every_session", seen(session="s1", dismissed_at=NOW), False),
        ("every_session", seen(session="s1", completed_at=NOW - timedelta(minutes=1)), False),
        ("every_session", seen(60, session="s1", dismissed_at=NOW - timedelta(days=1)), True),
    ],
    ids=["once-new", "once-seen", "once-in-progress", "once-dismissed-this-session", "until-done-open",
         "until-done-dismissed", "until-done-completed", "every-session-new-session", "every-session-in-progress",
         "every-session-dismissed-this-session", "every-session-completed-this-session",
         "every-session-reshown-after-old-dismissal"],
)
def test_decide__frequency__follows_guide_state(frequency, state, shown):
    cfg = config(make_guide_payload(1, frequency=frequency))
    assert ids(cfg, states={1: state} if state else {}) == ([1] if shown else [])


@pytest.mark.parametrize(("seen_count", "shown"), [(0, True), (2, True), (3, False)], ids=["never", "below", "at-max"])
def test_decide__frequency_max_times__while_seen_fewer_times(seen_count, shown):
    cfg = config(make_guide_payload(1, frequency="max_times", max_times=3))
    state = seen(count=seen_count) if seen_count else None
    assert ids(cfg, states={1: state} if state else {}) == ([1] if shown else [])


def test_decide__every_session_without_session_id__counts_as_new_session():
    cfg = config(make_guide_payload(1, frequency="every_session"))
    assert ids(cfg, session="", states={1: seen(session="", dismissed_at=NOW)}) == [1]


# --- throttle ------------------------------------------------------------------------------

def test_decide__hourly_cap_reached__no_new_automatic_guides():
    cfg = config(*(make_guide_payload(i) for i in (1, 2, 3)), make_guide_payload(4, trigger="manual"), per_hour=2)
    # Given two other automatic guides shown in the last hour (in another session, left open).
    states = {1: seen(10), 2: seen(50)}
    # Then those two may come back, but the third is new and over the cap.
    assert ids(cfg, states=states) == [1, 2]


def test_decide__hourly_cap__admits_only_as_many_new_guides_as_room_left():
    cfg = config(*(make_guide_payload(i, priority=10 - i) for i in (1, 2, 3, 4)), per_hour=2)
    assert ids(cfg, states={}) == [1, 2]
    assert ids(cfg, states={9: seen(5)}) == [1]


def test_decide__cap_not_reached__leaves_room_counting_to_the_trim():
    cfg = config(*(make_guide_payload(i, priority=10 - i) for i in (1, 2, 3, 4)), per_hour=2)
    visit = Visit(url=PAGE, now=NOW, session_id="s1")
    assert [guide.id for guide in decide(cfg, visit, facts(), {})] == [1, 2, 3, 4]
    assert [guide.id for guide in decide(cfg, visit, facts(), {8: seen(5), 9: seen(6)})] == []


def test_throttle_trim__experiment_dropped_a_guide__next_guide_takes_its_room():
    cfg = config(*(make_guide_payload(i, priority=10 - i) for i in (1, 2, 3, 4)), per_hour=2)
    # An experiment keeps guide 2 (the user's variant) and drops its sibling, guide 1.
    assert ids(cfg, experiment_drops={1}) == [2, 3]


def test_decide__hourly_cap__guides_seen_over_an_hour_ago_do_not_count():
    cfg = config(*(make_guide_payload(i) for i in (1, 2, 3)), per_hour=1)
    assert ids(cfg, states={9: seen(61)}) == [1]


def test_decide__daily_cap_reached__no_new_automatic_guides():
    cfg = config(*(make_guide_payload(i) for i in (1, 2, 3)), per_hour=5, per_day=2)
    states = {7: seen(180), 8: seen(60 * 20)}
    assert ids(cfg, states=states) == []
    assert ids(cfg, states={7: seen(180), 8: seen(60 * 25)}) == [1]


def test_decide__cap_reached__guide_in_progress_this_session_still_returned():
    cfg = config(*(make_guide_payload(i) for i in (1, 2, 3)), make_guide_payload(4, frequency="once"), per_hour=1)
    # Given a once-only tour started in this session, still open, and another guide seen this hour.
    states = {4: seen(5, session="s1"), 9: seen(20)}
    assert ids(cfg, states=states) == [4]


def test_decide__cap_reached__manual_guide_named_still_returned():
    cfg = config(make_guide_payload(1), make_guide_payload(2, trigger="manual"), per_hour=1, per_day=1)
    states = {9: seen(5)}
    assert ids(cfg, states=states) == []
    assert ids(cfg, states=states, guide_id=2) == [2]


def test_decide__manual_guides_shown__do_not_count_towards_the_cap():
    cfg = config(make_guide_payload(1), make_guide_payload(2, trigger="manual"), per_hour=1)
    assert ids(cfg, states={2: seen(5)}) == [1]


def test_decide__unpublished_guide_shown_recently__counts_by_its_trigger():
    cfg = config(make_guide_payload(1), per_hour=1)
    assert ids(cfg, states={9: seen(5)}) == []
    manual_nine = config(make_guide_payload(1), per_hour=1, manual_guide_ids={9})
    assert ids(manual_nine, states={9: seen(5)}) == [1]


def test_decide__no_throttle__every_automatic_guide_admitted():
    cfg = config(*(make_guide_payload(i) for i in range(1, 8)), per_hour=0, per_day=0)
    assert ids(cfg, states={9: seen(1), 10: seen(2)}) == list(range(1, 8))


# --- manual guides, guide_id, priority --------------------------------------------------------

def test_decide__manual_guide_not_named__not_returned():
    cfg = config(make_guide_payload(1, trigger="manual"), make_guide_payload(2))
    assert ids(cfg) == [2]


def test_decide__manual_guide_named__bypasses_frequency_but_not_schedule_or_targeting():
    cfg = config(
        make_guide_payload(1, trigger="manual", frequency="once"),
        make_guide_payload(2, trigger="manual", ends_at=(NOW - timedelta(hours=1)).isoformat()),
        make_guide_payload(3, trigger="manual", url_rules=[("/billing", "prefix", False)]),
    )
    assert ids(cfg, guide_id=1, states={1: seen(count=4, dismissed_at=NOW)}) == [1]
    assert ids(cfg, guide_id=2) == []
    assert ids(cfg, guide_id=3) == []


def test_decide__automatic_guide_named__returned_even_if_frequency_spent():
    cfg = config(make_guide_payload(1, frequency="once"), make_guide_payload(2))
    assert ids(cfg, states={1: seen()}) == [2]
    assert ids(cfg, states={1: seen()}, guide_id=1) == [1, 2]


def test_decide__unknown_guide_named__ignored():
    assert ids(config(make_guide_payload(1)), guide_id=999) == [1]


def test_decide__priorities__highest_first_then_oldest():
    cfg = config(
        make_guide_payload(5, priority=1),
        make_guide_payload(2, priority=10),
        make_guide_payload(9, priority=10),
        make_guide_payload(1, priority=-3),
        make_guide_payload(3, trigger="manual", priority=5),
    )
    assert ids(cfg) == [2, 9, 5, 1]
    assert ids(cfg, guide_id=3) == [2, 9, 3, 5, 1]


# --- what the snippet receives -----------------------------------------------------------------

def test_guide_content__checklist__items_carry_completion_and_cache_untouched():
    cfg = config(make_guide_payload(1, kind="checklist", items=[11, 12, 13]))
    guide = cfg.by_id[1]
    content = guide_content(guide, seen(count=2, dismissed_at=NOW), completed_items={12})
    assert [item["completed"] for item in content["content"]["items"]] == [False, True, False]
    assert content["state"] == {"seen_count": 2, "dismissed": True, "completed": False}
    assert content["experiment"] is None
    assert "targeting" not in content
    assert "completed" not in guide.payload["content"]["items"][0]
    assert "state" not in guide.payload


def test_guide_content__no_state__new_user_state():
    content = guide_content(config(make_guide_payload(1)).by_id[1], None)
    assert content["state"] == {"seen_count": 0, "dismissed": False, "completed": False}


def test_user_facts_for__distinct_counters__counted_from_event_keys():
    rule = {"distinct_events": ["a", "b", "c"], "min_count": 2, "within_days": 14}
    cfg = config(make_guide_payload(1, segment_id=7), segments={7: rule})
    assert cfg.counter_keys == {("a", 14), ("b", 14), ("c", 14)}
    user = user_facts_for(config=cfg, traits={}, account_traits={}, stage=None,
                          event_counts={("a", 14): 4, ("b", 14): 0, ("c", 14): 1})
    assert user.distinct_counts == {(("a", "b", "c"), 14): 2}
    assert ids(cfg, user=user) == [1]


def test_user_facts_for__traits_not_objects__treated_as_none():
    user = user_facts_for(config=config(), traits=["odd"], account_traits="odd", stage=None, event_counts={})
    assert isinstance(user, UserFacts)
    assert (dict(user.traits), dict(user.account_traits)) == ({}, {})
