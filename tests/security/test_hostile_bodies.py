"""Hostile request bodies on every endpoint that takes one: a 4xx JSON error naming the problem, never a 500.

``tests/api/test_events.py`` covers the events endpoint body by body; this runs the same kinds of
attack on identify, the server endpoints and erasure, and checks mixed batches keep their good events.
"""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import Event
from tests.factories import make_event_payload, publishable_key_headers, secret_key_headers

POST_ENDPOINTS = ["/api/v1/identify", "/api/v1/events", "/api/v1/server/identify", "/api/v1/server/events",
                  "/api/v1/server/users/erase"]
DEEP = b'{"user_id": "u", "events": ' + b"[" * 50_000 + b"]" * 50_000 + b"}"
BODIES = {
    "oversized": (b'{"pad": "' + b"x" * 300 * 1024 + b'"}', "application/json", 413),
    "deeply-nested": (DEEP[:60 * 1024] + b"]" * 10, "application/json", 400),  # within the size limits
    "not-utf8": (b'{"user_id": "\xff\xfe"}', "application/json", 400),
    "invalid-json": (b'{"user_id": ', "application/json", 400),
    "nan": (b'{"user_id": NaN}', "application/json", 400),
    "top-level-list": (b"[]", "application/json", 400),
    "wrong-types": (b'{"user_id": {"$ne": null}, "events": "all", "traits": [1]}', "application/json", 400),
    "xml": (b"<user_id>u</user_id>", "application/xml", 415),
    "form": (b"user_id=u", "application/x-www-form-urlencoded", 415),
    "no-content-type": (b'{"user_id": "u"}', "", 415),
}


def headers_for(application, path):
    return secret_key_headers(application) if "/server/" in path else publishable_key_headers(application)


@pytest.mark.parametrize("path", POST_ENDPOINTS, ids=lambda p: p.removeprefix("/api/v1/").replace("/", "-"))
@pytest.mark.parametrize("kind", sorted(BODIES))
def test_hostile_body__every_post_endpoint__clear_4xx_json(client, application, path, kind):
    body, content_type, status = BODIES[kind]
    if kind == "deeply-nested" and path.endswith("/erase"):
        status = 413  # erasure takes 4 KiB at most: refused by size first
    response = client.generic("POST", path, body, content_type=content_type, **headers_for(application, path))
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"] == "application/json"
    assert response.json()["detail"]
    assert Event.objects.count() == 0


def test_hostile_batch__skewed_clocks_huge_and_wrong_typed_events__valid_ones_kept(client, application):
    now = timezone.now()
    batch = [
        make_event_payload(name="good_1"),
        make_event_payload(name="future", at=now + timedelta(days=365 * 100)),  # kept, clamped and flagged
        make_event_payload(name="past", at=now - timedelta(days=365 * 30)),  # rejected: too old
        make_event_payload(name="huge", properties={"blob": "x" * 20_000}),  # rejected: properties too big
        make_event_payload(name="deep", properties={"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}),  # too deep
        make_event_payload(name="typed", user_id=["u"], timestamp=12, url={"x": 1}),  # wrong types
        make_event_payload(name="year-zero", timestamp="0000-01-01T00:00:00Z"),
        make_event_payload(name="overflow", timestamp="9999-12-31T23:59:59-23:59"),  # beyond year 9999 in UTC
        "not an event",
        make_event_payload(name="good_2"),
    ]
    response = client.post("/api/v1/events", json.dumps({"events": batch}), content_type="application/json",
                           **publishable_key_headers(application))
    assert response.status_code == 202
    body = response.json()
    assert body["accepted"] == 3
    assert [rejected["index"] for rejected in body["rejected"]] == [2, 3, 4, 5, 6, 7, 8]
    stored = {event.name: event for event in Event.objects.all()}
    assert set(stored) == {"good_1", "good_2", "future"}
    assert stored["future"].timestamp_clamped and not stored["good_1"].timestamp_clamped
    assert abs(stored["future"].timestamp - now) < timedelta(minutes=5)
