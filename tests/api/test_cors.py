"""CORS on the public API: per-application origins, preflight, never credentials, none on the server API."""
import json

import pytest

from tests.factories import make_application, make_event_payload, publishable_key_headers

ALLOWED = "https://app.acme.test"


def preflight(client, path, origin, **extra):
    return client.options(
        path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type,x-wayline-key", **extra,
    )


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/identify", "/api/v1/content"],
                         ids=["events", "identify", "content"])
def test_preflight__allowed_origin__204_with_cors_headers(client, application, path):
    response = preflight(client, path, ALLOWED)
    assert response.status_code == 204
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert set(response["Access-Control-Allow-Methods"].split(", ")) == {"GET", "POST"}
    assert response["Access-Control-Allow-Headers"] == "Content-Type, X-Wayline-Key"
    assert int(response["Access-Control-Max-Age"]) > 0
    assert "Origin" in response["Vary"]
    assert not response.has_header("Access-Control-Allow-Credentials")


def test_preflight__other_origin__no_cors_headers(client, application):
    response = preflight(client, "/api/v1/events", "https://evil.test")
    assert response.status_code == 204
    assert not response.has_header("Access-Control-Allow-Origin")
    assert not response.has_header("Access-Control-Allow-Credentials")
    assert "Origin" in response["Vary"]


def test_preflight__key_of_application_without_that_origin__no_cors_headers(client, application):
    other = make_application("Other", allowed_origins=["https://other.test"])
    response = preflight(client, f"/api/v1/events?key={other.publishable_key}", ALLOWED)
    assert not response.has_header("Access-Control-Allow-Origin")
    response = preflight(client, f"/api/v1/events?key={application.publishable_key}", ALLOWED)
    assert response["Access-Control-Allow-Origin"] == ALLOWED


def test_preflight__configured_origin_with_trailing_slash__matches(client, db):
    make_application("Slash", allowed_origins=["https://slash.test/"])
    assert preflight(client, "/api/v1/events", "https://slash.test")["Access-Control-Allow-Origin"] == "https://slash.test"


def test_cors__allowed_origin_post__allow_origin_and_vary_no_credentials(client, application):
    response = client.post(
        "/api/v1/events", json.dumps({"events": [make_event_payload()]}), content_type="application/json",
        **publishable_key_headers(application, HTTP_ORIGIN=ALLOWED),
    )
    assert response.status_code == 202
    assert response["Access-Control-Allow-Origin"] == ALLOWED
    assert "Retry-After" in response["Access-Control-Expose-Headers"]
    assert "Origin" in response["Vary"]
    assert not response.has_header("Access-Control-Allow-Credentials")


def test_cors__origin_allowed_only_for_another_application__403_without_cors(client, application):
    other = make_application("Other", allowed_origins=["https://other.test"])
    response = client.post(
        "/api/v1/events", json.dumps({"events": [make_event_payload()]}), content_type="application/json",
        **publishable_key_headers(application, HTTP_ORIGIN="https://other.test"),
    )
    assert response.status_code == 403
    assert not response.has_header("Access-Control-Allow-Origin")
    assert other.events.count() == 0 and application.events.count() == 0


def test_cors__unknown_key_from_known_origin__401_readable_by_page(client, application):
    response = client.post("/api/v1/events", b"{}", content_type="application/json",
                           HTTP_X_WAYLINE_KEY="wl_pk_nope", HTTP_ORIGIN=ALLOWED)
    assert response.status_code == 401
    assert response["Access-Control-Allow-Origin"] == ALLOWED


@pytest.mark.parametrize("path", ["/api/v1/server/events", "/api/v1/server/identify"], ids=["events", "identify"])
def test_cors__server_endpoints__never_cors_headers(client, application, path):
    assert not preflight(client, path, ALLOWED).has_header("Access-Control-Allow-Origin")
    response = client.post(path, b"{}", content_type="application/json", HTTP_ORIGIN=ALLOWED,
                           HTTP_AUTHORIZATION=f"Bearer {application.secret_key}")
    assert not response.has_header("Access-Control-Allow-Origin")
    assert not response.has_header("Access-Control-Allow-Credentials")
