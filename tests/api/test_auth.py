"""Publishable and secret keys: who may call which API, and the key cache."""
import json

import pytest
from django.db import OperationalError, connection
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from analytics.api.authentication import PublishableKeyAuthentication, SecretKeyAuthentication, publishable_keys
from onboarding.services import application_rotate_key
from tests.factories import make_event_payload, publishable_key_headers, secret_key_headers


def post(client, path, body=None, **headers):
    return client.post(path, json.dumps(body or {"events": []}), content_type="application/json", **headers)


def test_publishable_key_authentication__valid_key__returns_none_and_application(application):
    request = Request(APIRequestFactory().post("/api/v1/events", HTTP_X_WAYLINE_KEY=application.publishable_key))
    user, auth = PublishableKeyAuthentication().authenticate(request)
    assert user is None
    assert auth.pk == application.pk


def test_secret_key_authentication__bearer__returns_none_and_application(application):
    request = Request(APIRequestFactory().post("/", HTTP_AUTHORIZATION=f"Bearer {application.secret_key}"))
    assert SecretKeyAuthentication().authenticate(request)[1].pk == application.pk


@pytest.mark.parametrize(
    ("path", "headers", "message"),
    [
        ("/api/v1/events", {}, "Missing publishable key"),
        ("/api/v1/events", {"HTTP_X_WAYLINE_KEY": "wl_pk_doesnotexist"}, "Unknown publishable key"),
        ("/api/v1/events", {"HTTP_X_WAYLINE_KEY": "something-else"}, "Unknown publishable key"),
        ("/api/v1/server/events", {}, "Missing secret key"),
        ("/api/v1/server/events", {"HTTP_AUTHORIZATION": "Bearer wl_sk_doesnotexist"}, "Unknown secret key"),
        ("/api/v1/server/events", {"HTTP_AUTHORIZATION": "Basic dXNlcjpwYXNz"}, "Missing secret key"),
    ],
    ids=["public-no-key", "public-unknown", "public-garbage", "server-no-key", "server-unknown", "server-basic"],
)
def test_auth__missing_or_unknown_key__401_with_detail(client, db, path, headers, message):
    response = post(client, path, **headers)
    assert response.status_code == 401
    assert response.json()["detail"].startswith(message)
    assert response.has_header("WWW-Authenticate")


def test_auth__secret_key_on_public_api__401_says_so(client, application):
    response = post(client, "/api/v1/events", HTTP_X_WAYLINE_KEY=application.secret_key)
    assert response.status_code == 401
    assert "secret key" in response.json()["detail"]


def test_auth__secret_key_in_query_on_public_api__401(client, application):
    response = post(client, f"/api/v1/events?key={application.secret_key}")
    assert response.status_code == 401


def test_auth__publishable_key_on_server_api__401_says_so(client, application):
    response = post(client, "/api/v1/server/events", HTTP_AUTHORIZATION=f"Bearer {application.publishable_key}")
    assert response.status_code == 401
    assert "publishable key" in response.json()["detail"]


def test_auth__publishable_key_header_on_server_api__401(client, application):
    response = post(client, "/api/v1/server/identify", {"user_id": "u"}, **publishable_key_headers(application))
    assert response.status_code == 401


def test_auth__secret_key__server_api_202(client, application):
    response = post(client, "/api/v1/server/events", {"events": [make_event_payload()]}, **secret_key_headers(application))
    assert response.status_code == 202


def test_auth__origin_not_allowed__403_and_nothing_stored(client, application):
    response = post(
        client, "/api/v1/events", {"events": [make_event_payload()]},
        **publishable_key_headers(application, HTTP_ORIGIN="https://evil.test"),
    )
    assert response.status_code == 403
    assert "https://evil.test" in response.json()["detail"]
    assert application.events.count() == 0


def test_auth__no_origin__server_side_call_with_publishable_key_allowed(client, application):
    response = post(client, "/api/v1/events", {"events": [make_event_payload()]}, **publishable_key_headers(application))
    assert response.status_code == 202


def test_key_cache__rotated_key__works_until_ttl_then_401(client, application, settings, monkeypatch):
    # Given a cached key lookup at t=1000 with a 10 s TTL
    settings.WAYLINE_KEY_CACHE_SECONDS = 10
    clock = {"now": 1000.0}
    monkeypatch.setattr(publishable_keys, "timer", lambda: clock["now"])
    old_key = application.publishable_key
    assert post(client, "/api/v1/events", HTTP_X_WAYLINE_KEY=old_key).status_code == 202
    # When the key is rotated
    new_key = application_rotate_key(application=application, which="publishable_key")
    # Then the old key still works inside the TTL (no query), and is refused once it expires
    clock["now"] = 1009.0
    assert post(client, "/api/v1/events", HTTP_X_WAYLINE_KEY=old_key).status_code == 202
    clock["now"] = 1010.5
    assert post(client, "/api/v1/events", HTTP_X_WAYLINE_KEY=old_key).status_code == 401
    assert post(client, "/api/v1/events", HTTP_X_WAYLINE_KEY=new_key).status_code == 202


def _database_down(execute, sql, params, many, context):
    raise OperationalError("connection refused: the database is restarting")


@pytest.mark.redis
def test_key_cache__expired_while_database_unreachable__events_still_buffered_202(
    client, application, event_stream, settings, monkeypatch
):
    # Given a key looked up at t=1000 with a 10 s TTL, and events buffered in Redis
    settings.WAYLINE_KEY_CACHE_SECONDS = 10
    clock = {"now": 1000.0}
    monkeypatch.setattr(publishable_keys, "timer", lambda: clock["now"])
    key = application.publishable_key
    assert post(client, "/api/v1/events", HTTP_X_WAYLINE_KEY=key).status_code == 202
    # When the entry has expired and every query fails (PostgreSQL restarting)
    clock["now"] = 1011.0
    with connection.execute_wrapper(_database_down):
        response = post(client, "/api/v1/events", {"events": [make_event_payload()]}, HTTP_X_WAYLINE_KEY=key)
    # Then the last known application answers and the event waits in the stream
    assert response.status_code == 202, response.content
    assert event_stream.xlen(settings.WAYLINE_EVENT_STREAM) == 1


def test_key_cache__never_seen_key_while_database_unreachable__error_not_unknown_key(application):
    # A key the process never looked up cannot be vouched for: the failure propagates (no false 401)
    with connection.execute_wrapper(_database_down), pytest.raises(OperationalError):
        publishable_keys.get(application.publishable_key)


def test_key_cache__cached_lookup__no_query(client, application, django_assert_num_queries):
    post(client, "/api/v1/events", HTTP_X_WAYLINE_KEY=application.publishable_key)
    with django_assert_num_queries(0):
        assert post(client, "/api/v1/events", HTTP_X_WAYLINE_KEY=application.publishable_key).status_code == 202
