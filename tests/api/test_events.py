"""POST /api/v1/events and /api/v1/server/events: batches, per-event errors, idempotency, malformed input."""
import json
import uuid
from datetime import timedelta
from datetime import timezone as dt_timezone

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.ingest.validation import user_hash
from analytics.models import EndUser, Event, UserAlias
from tests.factories import (
    make_application,
    make_event_payload,
    make_events_batch,
    publishable_key_headers,
    secret_key_headers,
)

EVENTS = "/api/v1/events"


def post_events(client, application, events, **headers):
    return client.post(
        EVENTS, json.dumps({"events": events}), content_type="application/json",
        **publishable_key_headers(application, **headers),
    )


def test_events__valid_batch__202_and_stored(client, application):
    batch = make_events_batch(20)
    response = post_events(client, application, batch)
    assert response.status_code == 202, response.content
    assert response.json() == {"accepted": 20, "duplicates": 0, "rejected": []}
    stored = Event.objects.filter(application=application)
    assert {str(event.id) for event in stored} == {event["id"] for event in batch}
    assert EndUser.objects.get(application=application, external_id="user-1").events.count() == 20


def test_events__same_batch_twice__each_event_stored_once(client, application):
    batch = make_events_batch(20)
    post_events(client, application, batch)
    response = post_events(client, application, batch)
    assert response.json() == {"accepted": 0, "duplicates": 20, "rejected": []}
    assert Event.objects.count() == 20


def test_events__repeated_id_within_batch__counted_as_duplicate(client, application):
    event = make_event_payload()
    response = post_events(client, application, [event, dict(event)])
    assert response.json() == {"accepted": 1, "duplicates": 1, "rejected": []}


def test_events__three_bad_of_twenty__seventeen_stored_and_bad_ones_located(client, application):
    batch = make_events_batch(20)
    batch[3]["timestamp"] = "yesterday at noon"
    batch[7]["id"] = "not-a-uuid"
    batch[12]["name"] = "$made_up"
    response = post_events(client, application, batch)
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 17
    assert [rejected["index"] for rejected in body["rejected"]] == [3, 7, 12]
    assert body["rejected"][0]["errors"] == {"timestamp": ["not an ISO-8601 date-time"]}
    assert body["rejected"][1]["errors"] == {"id": ["not a UUID"]}
    assert "reserved" in body["rejected"][2]["errors"]["name"][0]
    assert Event.objects.count() == 17


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "required"),
        ("name", "x" * 201, "limit is 200"),
        ("name", 42, "must be a string"),
        ("properties", [1, 2], "must be a JSON object"),
        ("properties", {"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}, "deeper than 5"),
        ("properties", {"blob": "x" * 17000}, "limit is 16384"),
        ("properties", {"nul": "a\u0000b"}, "NUL"),
        ("properties", {"big": 2**70}, "64 bits"),
        ("url", "x" * 2001, "limit is 2000"),
        ("session_id", "s" * 101, "limit is 100"),
        ("user_id", True, "must be a string"),
        ("user_id", "   ", "blank"),
        ("timestamp", "2024-01-01", "ISO-8601"),
        ("timestamp", 1700000000, "ISO-8601"),
    ],
    ids=["empty-name", "long-name", "numeric-name", "list-properties", "deep-properties", "big-properties",
         "nul-in-properties", "huge-integer", "long-url", "long-session", "boolean-user-id", "blank-user-id",
         "date-without-time", "epoch-number"],
)
def test_events__bad_field__rejected_with_located_message(client, application, field, value, message):
    event = make_event_payload()
    event[field] = value
    response = post_events(client, application, [make_event_payload(), event])
    body = response.json()
    assert body["accepted"] == 1
    [rejected] = body["rejected"]
    assert rejected["index"] == 1
    assert message in rejected["errors"][field][0]


def test_events__no_user_at_all__rejected(client, application):
    event = make_event_payload(user_id=None)
    [rejected] = post_events(client, application, [event]).json()["rejected"]
    assert rejected["errors"] == {"user_id": ["one of user_id or anonymous_id is required"]}


def test_events__reserved_snippet_event__accepted(client, application):
    response = post_events(client, application, [make_event_payload("$pageview"), make_event_payload("$exposure")])
    assert response.json()["accepted"] == 2


def test_events__timestamp_far_in_future__clamped_and_flagged(client, application):
    future = make_event_payload(at=timezone.now() + timedelta(hours=2))
    near = make_event_payload(at=timezone.now() + timedelta(minutes=1))
    before = timezone.now()
    post_events(client, application, [future, near])
    clamped = Event.objects.get(id=future["id"])
    assert clamped.timestamp_clamped is True
    assert before <= clamped.timestamp <= timezone.now()
    assert clamped.timestamp == clamped.received_at
    assert Event.objects.get(id=near["id"]).timestamp_clamped is False


def test_events__older_than_thirty_days__rejected(client, application):
    old = make_event_payload(at=timezone.now() - timedelta(days=31))
    recent = make_event_payload(at=timezone.now() - timedelta(days=29))
    body = post_events(client, application, [old, recent]).json()
    assert body["accepted"] == 1
    assert "older than 30 days" in body["rejected"][0]["errors"]["timestamp"][0]


def test_events__timestamp_without_offset__read_as_utc(client, application):
    naive = (timezone.now() - timedelta(hours=1)).replace(tzinfo=None, microsecond=0)
    event = make_event_payload(timestamp=naive.isoformat())
    post_events(client, application, [event])
    assert Event.objects.get(id=event["id"]).timestamp == naive.replace(tzinfo=dt_timezone.utc)


def test_events__anonymous_id__user_and_alias_created(client, application):
    post_events(client, application, [make_event_payload(user_id=None, anonymous_id="anon-1")] * 1)
    alias = UserAlias.objects.get(application=application, anonymous_id="anon-1")
    assert alias.user.external_id is None
    assert alias.user.events.count() == 1


def test_events__text_plain_beacon_with_key_in_query__stored(client, application):
    batch = make_events_batch(3)
    response = client.post(
        f"{EVENTS}?key={application.publishable_key}", json.dumps({"events": batch}),
        content_type="text/plain;charset=UTF-8", HTTP_ORIGIN="https://app.acme.test",
    )
    assert response.status_code == 202, response.content
    assert response["Access-Control-Allow-Origin"] == "https://app.acme.test"
    assert Event.objects.count() == 3


def test_events__batch_of_101__400(client, application):
    response = post_events(client, application, make_events_batch(101))
    assert response.status_code == 400
    assert "at most 100 events" in response.json()["detail"]
    assert Event.objects.count() == 0


def test_events__empty_batch__202_nothing_stored(client, application):
    assert post_events(client, application, []).json() == {"accepted": 0, "duplicates": 0, "rejected": []}


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (b"\xff\xfe{not utf-8", "not valid UTF-8"),
        (b'{"events": [', "not valid JSON"),
        (b"[1, 2, 3]", "JSON object"),
        (b'"events"', "JSON object"),
        (b'{"events": {"0": {}}}', '"events" must be a list'),
        (b'{"events": [NaN]}', "not valid JSON"),
        (b'{"events": [' + b"9" * 5000 + b"]}", "not valid JSON"),
        (b'{"events": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested too deeply"),
        (b'{"events": [1e999]}', None),
        (b"", '"events" must be a list'),
    ],
    ids=["not-utf8", "truncated", "top-level-list", "top-level-string", "events-object", "nan", "huge-integer",
         "deep-nesting", "infinite-float", "empty-body"],
)
def test_events__malformed_body__400_json_never_500(client, application, body, detail):
    response = client.post(EVENTS, body, content_type="application/json", **publishable_key_headers(application))
    if detail is None:  # parsed, but the one "event" is not an object: rejected, not a crash
        assert response.status_code == 202
        assert response.json()["rejected"][0]["errors"] == {"event": ["must be a JSON object, got a number"]}
        return
    assert response.status_code == 400, response.content
    assert response["Content-Type"] == "application/json"
    assert detail in response.json()["detail"]


def test_events__lone_surrogate_in_property__rejected_not_500(client, application):
    event = make_event_payload()
    body = json.dumps({"events": [event]}).replace('"properties": {}', '"properties": {"x": "\\ud800"}')
    response = client.post(EVENTS, body, content_type="application/json", **publishable_key_headers(application))
    assert response.status_code == 202
    assert "surrogate" in response.json()["rejected"][0]["errors"]["properties"][0]


def test_events__body_over_256_kib__413(client, application):
    batch = [make_event_payload(properties={"blob": "x" * 15000}) for _ in range(20)]
    response = post_events(client, application, batch)
    assert response.status_code == 413
    assert "limit" in response.json()["detail"]


@pytest.mark.parametrize("content_type", ["application/xml", "multipart/form-data; boundary=x", "application/x-www-form-urlencoded"],
                         ids=["xml", "multipart", "form"])
def test_events__other_content_type__415(client, application, content_type):
    response = client.post(EVENTS, b"<events/>", content_type=content_type, **publishable_key_headers(application))
    assert response.status_code == 415
    assert "application/json" in response.json()["detail"]


def test_events__identity_verification_on__identified_event_needs_user_hash(client, db):
    application = make_application(require_identity_verification=True)
    good = make_event_payload(user_id="u-7", user_hash=user_hash(application.identity_secret, "u-7"))
    missing = make_event_payload(user_id="u-7")
    forged = make_event_payload(user_id="u-8", user_hash=user_hash(application.identity_secret, "u-7"))
    anonymous = make_event_payload(user_id=None, anonymous_id="anon-9")
    body = post_events(client, application, [good, missing, forged, anonymous]).json()
    assert body["accepted"] == 2
    assert [r["index"] for r in body["rejected"]] == [1, 2]
    assert "user_hash is missing" in body["rejected"][0]["errors"]["user_hash"][0]
    assert "user_hash is invalid" in body["rejected"][1]["errors"]["user_hash"][0]


def test_server_events__secret_key__stored_without_user_hash(client, db):
    application = make_application(require_identity_verification=True)
    response = client.post(
        "/api/v1/server/events", json.dumps({"events": make_events_batch(2)}), content_type="application/json",
        **secret_key_headers(application),
    )
    assert response.status_code == 202
    assert response.json()["accepted"] == 2


def test_server_events__text_plain__415(client, application):
    response = client.post(
        "/api/v1/server/events", json.dumps({"events": []}), content_type="text/plain", **secret_key_headers(application)
    )
    assert response.status_code == 415


def test_events__unknown_route_under_api__json_404(client, db):
    response = client.post("/api/v1/nothing-here", b"{}", content_type="application/json")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


def test_events__get__405_json(client, application):
    response = client.get(EVENTS, **publishable_key_headers(application))
    assert response.status_code == 405
    assert response.json()["code"] == "method_not_allowed"


def test_events__reverse_names__match_contract_paths():
    assert reverse("api-events") == "/api/v1/events"
    assert reverse("api-identify") == "/api/v1/identify"
    assert reverse("api-server-events") == "/api/v1/server/events"
    assert reverse("api-server-identify") == "/api/v1/server/identify"


def test_events__unknown_keys_in_event__ignored(client, application):
    event = make_event_payload(context={"library": "wayline.js"})
    assert post_events(client, application, [event]).json()["accepted"] == 1
    assert uuid.UUID(event["id"]) == Event.objects.get().id


def failing_hook(*, application_id, events):
    raise RuntimeError("a hook that breaks")


def test_events__unexpected_error__json_500_and_batch_rolled_back(client, application, settings):
    settings.WAYLINE_INGEST_HOOKS = [f"{__name__}.failing_hook"]
    response = post_events(client, application, make_events_batch(3))
    assert response.status_code == 500
    assert response.json() == {"detail": "Internal error; it has been logged.", "code": "server_error"}
    assert Event.objects.count() == 0
