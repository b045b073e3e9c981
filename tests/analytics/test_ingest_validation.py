"""Plain-Python validation of batches, identify bodies and traits: boundaries, and never an exception."""
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from analytics.ingest.validation import (
    FUTURE_TOLERANCE,
    MAX_TRAIT_KEYS,
    PayloadError,
    traits_merge,
    user_hash,
    user_hash_problem,
    validate_batch,
    validate_identify,
)

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def event(**fields):
    base = {"id": str(uuid.uuid4()), "name": "report_viewed", "user_id": "u-1", "timestamp": NOW.isoformat()}
    base.update(fields)
    return {key: value for key, value in base.items() if value is not ...}


def check(*events, **options):
    return validate_batch({"events": list(events)}, now=NOW, **options)


def test_validate_batch__uppercase_uuid__canonical_lowercase():
    raw = str(uuid.uuid4()).upper()
    assert check(event(id=raw)).events[0]["id"] == raw.lower()


@pytest.mark.parametrize(
    ("offset", "clamped"),
    [(FUTURE_TOLERANCE, False), (FUTURE_TOLERANCE + timedelta(seconds=1), True), (-timedelta(days=1), False)],
    ids=["exactly-tolerance", "just-beyond", "past"],
)
def test_validate_batch__future_timestamp__clamped_beyond_five_minutes(offset, clamped):
    [valid] = check(event(timestamp=(NOW + offset).isoformat())).events
    assert valid["timestamp_clamped"] is clamped
    assert valid["timestamp"] == (NOW if clamped else NOW + offset)


@pytest.mark.parametrize(("days", "accepted"), [(30, True), (31, False)], ids=["thirty-days", "thirty-one-days"])
def test_validate_batch__old_timestamp__rejected_beyond_max_age(days, accepted):
    result = check(event(timestamp=(NOW - timedelta(days=days)).isoformat()))
    assert bool(result.events) is accepted


def test_validate_batch__max_age_option__respected():
    result = check(event(timestamp=(NOW - timedelta(days=3)).isoformat()), max_age=timedelta(days=2))
    assert result.rejected and not result.events


@pytest.mark.parametrize(
    "stamp", ["2026-03-01T11:00:00Z", "2026-03-01T13:00:00+02:00", "2026-03-01 11:00:00", "2026-03-01T11:00:00.123456Z"],
    ids=["zulu", "offset", "space-naive", "fraction"],
)
def test_validate_batch__iso_forms__accepted_as_utc(stamp):
    [valid] = check(event(timestamp=stamp)).events
    assert valid["timestamp"].utcoffset() == timedelta(0)
    assert valid["timestamp"].replace(microsecond=0) == datetime(2026, 3, 1, 11, 0, tzinfo=timezone.utc)


def test_validate_batch__timestamp_missing__receive_time():
    assert check(event(timestamp=...)).events[0]["timestamp"] == NOW


def test_validate_batch__both_ids__belongs_to_user_id():
    [valid] = check(event(anonymous_id="anon-1")).events
    assert (valid["user_id"], valid["anonymous_id"]) == ("u-1", None)


def test_validate_batch__properties_json__compact_and_kept():
    [valid] = check(event(properties={"plan": "pro", "n": [1, 2]})).events
    assert valid["properties_json"] == '{"plan":"pro","n":[1,2]}'


def test_validate_batch__user_hash_checked_once_per_user_and_hash():
    secret = "s3cret"
    good = user_hash(secret, "u-1")
    result = check(event(user_hash=good), event(user_hash=good), event(user_hash="bad"), identity_secret=secret)
    assert len(result.events) == 2 and [r["index"] for r in result.rejected] == [2]


@pytest.mark.parametrize(
    ("given", "problem"), [(None, "missing"), ("", "missing"), (123, "invalid"), ("zz", "invalid"), ("é", "invalid")],
    ids=["none", "empty", "number", "short", "non-ascii"],
)
def test_user_hash_problem__bad_values__named(given, problem):
    assert problem in user_hash_problem("secret", "u-1", given)


def test_traits_merge__overwrite_delete_and_keep():
    merged, problem = traits_merge({"a": 1, "b": 2, "c": 3}, {"a": 10, "b": None, "d": 4, "zzz": None})
    assert (merged, problem) == ({"a": 10, "c": 3, "d": 4}, None)


def test_traits_merge__result_over_key_limit__problem():
    _, problem = traits_merge({f"k{i}": i for i in range(MAX_TRAIT_KEYS)}, {"one_more": 1})
    assert f"the limit is {MAX_TRAIT_KEYS}" in problem


def test_validate_identify__account_with_integer_id__string():
    data = validate_identify({"user_id": "u", "account": {"id": 42, "traits": {"plan": "pro"}}})
    assert (data.account_id, data.account_traits) == ("42", {"plan": "pro"})


@pytest.mark.parametrize("payload", [[], "x", 3, None], ids=["list", "string", "number", "null"])
def test_validate_identify__not_an_object__payload_error(payload):
    with pytest.raises(PayloadError):
        validate_identify(payload)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=25,
)
EVENTISH = st.fixed_dictionaries(
    {},
    optional={
        "id": st.uuids().map(str) | JSON, "name": st.sampled_from(["a", "$pageview", "$nope", ""]) | JSON,
        "user_id": st.text(max_size=5) | JSON, "anonymous_id": JSON, "timestamp": st.datetimes().map(str) | JSON,
        "properties": JSON, "url": JSON, "session_id": JSON, "user_hash": JSON,
    },
)


@settings(max_examples=120, deadline=None)
@given(payload=JSON | st.fixed_dictionaries({"events": st.lists(EVENTISH | JSON, max_size=5)}))
def test_validate_batch__any_json__valid_or_located_errors_never_raises(payload):
    try:
        result = validate_batch(payload, now=NOW, identity_secret="s")
    except PayloadError as error:
        assert error.message
        return
    assert len(result.events) + len(result.rejected) + result.duplicates == len(payload["events"])
    for rejected in result.rejected:
        assert rejected["errors"] and all(isinstance(messages, list) for messages in rejected["errors"].values())


@settings(max_examples=80, deadline=None)
@given(payload=JSON | st.fixed_dictionaries({}, optional={"user_id": JSON, "anonymous_id": JSON, "traits": JSON,
                                                           "account": JSON}))
def test_validate_identify__any_json__valid_or_payload_error(payload):
    try:
        data = validate_identify(payload)
    except PayloadError as error:
        assert error.message
        return
    assert data.user_id is not None or data.anonymous_id is not None
