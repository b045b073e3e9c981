"""Fuzzing the two interpreters of untrusted JSON: targeting rules and event batches.

Rules come from PMs (and, through the admin's JSON field, from anything pasted there); event
batches come from any browser. For any JSON at all — rule-shaped trees with hostile values,
deep nesting, huge numbers, broken regular expressions; batches of event-shaped objects with
wrong types, skewed clocks and oversized properties — the validators answer with located
errors and never raise, and what they accept evaluates or stores without an exception.
``bench/fuzz.py`` runs these with many more examples and reports the counts.
"""
import json
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from analytics.ingest.validation import (
    FUTURE_TOLERANCE,
    MAX_EVENTS,
    PayloadError,
    validate_batch,
    validate_identify,
)
from onboarding.rules import (
    KINDS,
    NODE_KEYS,
    OPERATORS,
    RuleError,
    RuleValidationError,
    UserFacts,
    describe,
    ensure_valid_rule,
    evaluate,
    referenced_events,
    required_counters,
    validate_rule,
)
from tests.security.fuzzing import Tally, examples, fuzz_settings

NOW = datetime(2026, 3, 1, 12, tzinfo=UTC)
MAX_AGE = timedelta(days=30)
STAGES = ("signed-up", "activation", "adoption")

hostile_scalars = (
    st.none() | st.booleans() | st.integers() | st.integers(min_value=10**30) | st.floats()
    | st.text(max_size=20) | st.text(min_size=190, max_size=260)
    | st.sampled_from(OPERATORS + STAGES + ("(a+)+$", "[", "(?P<x", "\\", "a{99999999999}", "\x00", "\ud800", "$exposure"))
)
any_json = st.recursive(
    hostile_scalars,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


@st.composite
def rule_shaped(draw, depth=0):
    """A node of one (or more) kinds with keys of the language and values of anything."""
    if depth > 12 or draw(st.integers(0, 9)) == 0:
        return draw(any_json)
    kinds = draw(st.lists(st.sampled_from(KINDS), min_size=1, max_size=2 if draw(st.integers(0, 9)) == 0 else 1))
    node = {}
    for kind in kinds:
        for key in NODE_KEYS[kind]:
            if key in ("all", "any"):
                node[key] = draw(st.lists(rule_shaped(depth + 1), max_size=3)) if draw(st.booleans()) else draw(any_json)
            elif key == "not":
                node[key] = draw(rule_shaped(depth + 1))
            elif key == "op" and draw(st.integers(0, 3)):
                node[key] = draw(st.sampled_from(OPERATORS + ("current", "reached")))
            elif key != kind and draw(st.booleans()):
                continue  # optional keys sometimes absent
            else:
                node[key] = draw(hostile_scalars | st.lists(hostile_scalars, max_size=3))
    if draw(st.integers(0, 5)) == 0:
        node[draw(st.text(max_size=6))] = draw(any_json)
    return node


facts = st.builds(
    UserFacts,
    traits=st.dictionaries(st.text(max_size=6), any_json, max_size=4),
    account_traits=st.dictionaries(st.text(max_size=6), any_json, max_size=3),
    stage=st.none() | st.sampled_from(STAGES),
    reached_stages=st.frozensets(st.sampled_from(STAGES)),
)


def test_fuzz_rules__any_rule_shaped_json__located_errors_or_evaluates():
    tally = Tally("rules: validate_rule + evaluate", subjects=["onboarding.rules"])

    @fuzz_settings(examples(150))
    @given(rule=rule_shaped() | any_json, user=facts)
    def run(rule, user):
        tally.tried += 1
        errors = validate_rule(rule, known_stages=STAGES)
        assert all(isinstance(e, RuleError) and e.path.startswith("rule") and e.message for e in errors)
        if errors:
            tally.by_outcome["rejected"] += 1
            try:
                ensure_valid_rule(rule, known_stages=STAGES)
            except RuleValidationError as error:
                assert str(error)
            else:
                raise AssertionError("ensure_valid_rule accepted a rule validate_rule rejected")
            return
        tally.by_outcome["valid"] += 1
        needed_events, _ = required_counters(rule)
        assert evaluate(rule, user) in (True, False)
        assert isinstance(describe(rule), str)
        assert referenced_events(rule) >= {name for name, _ in needed_events}

    tally.run(run)
    assert tally.by_outcome["valid"] and tally.by_outcome["rejected"]  # both sides were reached


clock_values = st.sampled_from([
    (NOW + timedelta(days=3650)).isoformat(), (NOW - timedelta(days=3650)).isoformat(), NOW.isoformat(),
    (NOW - timedelta(days=1)).isoformat(), "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-12:00",
    "2026-02-30T00:00:00Z", "2026-03-01 12:00", "2026-03-01T12:00:00.123456789Z",
])
eventish = st.fixed_dictionaries(
    {},
    optional={
        "id": st.uuids().map(str) | any_json,
        "name": st.sampled_from(["signed_up", "$pageview", "$forged", "", "x" * 201]) | any_json,
        "user_id": st.sampled_from(["user-1", "user-2", 7, "  "]) | any_json,
        "anonymous_id": st.sampled_from(["anon-1"]) | any_json,
        "timestamp": clock_values | any_json,
        "properties": st.dictionaries(st.text(max_size=5), any_json, max_size=5) | any_json
        | st.just({"blob": "x" * 17_000}),
        "url": st.text(max_size=30) | any_json, "session_id": any_json, "user_hash": any_json,
    },
)
plausible_event = st.fixed_dictionaries(
    {"id": st.uuids().map(str), "name": st.sampled_from(["signed_up", "$pageview", "report_viewed"]),
     "user_id": st.sampled_from(["user-1", "user-2", 7])},
    optional={"timestamp": clock_values, "properties": st.dictionaries(st.text(max_size=5), any_json, max_size=5),
              "url": st.text(max_size=30), "session_id": st.text(max_size=10), "anonymous_id": any_json},
)
batches = any_json | st.fixed_dictionaries(
    {"events": st.lists(plausible_event | eventish | any_json, max_size=8)}) | st.fixed_dictionaries(
    {"events": st.lists(st.none(), min_size=MAX_EVENTS + 1, max_size=MAX_EVENTS + 3)})


def test_fuzz_event_batches__any_json__per_event_errors_never_an_exception():
    tally = Tally("events: validate_batch + validate_identify", subjects=["analytics.ingest.validation"])

    @fuzz_settings(examples(150))
    @given(payload=batches, secret=st.none() | st.just("identity-secret"))
    def run(payload, secret):
        tally.tried += 1
        try:
            validate_identify(payload)
        except PayloadError as error:
            assert error.message
        try:
            result = validate_batch(payload, now=NOW, max_age=MAX_AGE, identity_secret=secret)
        except PayloadError as error:
            assert error.message
            tally.by_outcome["batch refused"] += 1
            return
        assert len(result.events) + len(result.rejected) + result.duplicates == len(payload["events"])
        for rejected in result.rejected:
            assert rejected["errors"] and all(
                isinstance(messages, list) and all(isinstance(m, str) and m for m in messages)
                for messages in rejected["errors"].values()
            )
        for event in result.events:
            assert json.loads(event["properties_json"]) == json.loads(json.dumps(event["properties"]))
            assert NOW - MAX_AGE <= event["timestamp"] <= NOW + FUTURE_TOLERANCE
            assert event["user_id"] is not None or event["anonymous_id"] is not None
        tally.by_outcome["events accepted"] += len(result.events)
        tally.by_outcome["events rejected"] += len(result.rejected)

    tally.run(run)
    assert tally.by_outcome["events accepted"] and tally.by_outcome["events rejected"]
