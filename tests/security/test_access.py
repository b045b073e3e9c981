"""Who may call what: keys of the right kind and application, identity hashes, CORS, rate limits.

What ``tests/api`` checks per endpoint (a secret key on the public API, a publishable key on the
server API, forged hashes on identify, events and content) is not repeated; these add the
matrices across all endpoints and the cases between applications.
"""
import json
import uuid

import pytest

from analytics.api.throttling import FixedWindowThrottle
from analytics.ingest.validation import user_hash
from analytics.models import EndUser, Event
from onboarding.services import application_rotate_key
from tests.factories import make_application, make_event_payload, make_known_user, publishable_key_headers

PUBLIC = [("post", "/api/v1/identify"), ("post", "/api/v1/events"), ("get", "/api/v1/content")]
SERVER = [("post", "/api/v1/server/identify"), ("post", "/api/v1/server/events"),
          ("post", "/api/v1/server/users/erase"), ("get", "/api/v1/server/users/export")]
ALLOWED_ORIGIN = "https://app.acme.test"


def call(client, method, path, *, user_id="user-1", user_hash_value=None, **headers):
    """A well-formed request of ``path`` for ``user_id``."""
    if method == "get":
        params = {"user_id": user_id, "url": "https://app.acme.test/"}
        if user_hash_value is not None:
            params["user_hash"] = user_hash_value
        return client.get(path, params, **headers)
    if path.endswith("/events"):
        body = {"events": [make_event_payload(user_id=user_id, **({"user_hash": user_hash_value} if user_hash_value else {}))]}
    else:
        body = {"user_id": user_id, **({"user_hash": user_hash_value} if user_hash_value else {})}
    return client.post(path, json.dumps(body), content_type="application/json", **headers)


@pytest.fixture
def two_applications(db):
    ours = make_application("Ours", require_identity_verification=True)
    theirs = make_application("Theirs", require_identity_verification=True, allowed_origins=["https://theirs.test"])
    make_known_user(ours, "user-1", traits={"plan": "pro"})
    make_known_user(theirs, "user-1", traits={"plan": "free"})
    return ours, theirs


@pytest.mark.parametrize(("method", "path"), PUBLIC, ids=["identify", "events", "content"])
def test_identity__hash_made_with_other_applications_secret__refused_everywhere(client, two_applications, method, path):
    ours, theirs = two_applications
    forged = user_hash(theirs.identity_secret, "user-1")  # valid, but for the other application
    response = call(client, method, path, user_hash_value=forged, **publishable_key_headers(ours))
    if path.endswith("/events"):  # per-event refusal: the batch is answered, the event is not kept
        assert response.status_code == 202 and response.json()["accepted"] == 0
        assert "user_hash is invalid" in response.json()["rejected"][0]["errors"]["user_hash"][0]
    else:
        assert response.status_code == 401
    assert Event.objects.count() == 0
    assert EndUser.objects.get(application=ours, external_id="user-1").traits == {"plan": "pro"}


@pytest.mark.parametrize(("method", "path"), PUBLIC, ids=["identify", "events", "content"])
def test_identity__other_applications_key_replayed_from_our_origin__403(client, two_applications, method, path):
    ours, theirs = two_applications
    right_hash = user_hash(theirs.identity_secret, "user-1")
    response = call(client, method, path, user_hash_value=right_hash,
                    **publishable_key_headers(theirs, HTTP_ORIGIN=ALLOWED_ORIGIN))
    assert response.status_code == 403
    assert "Access-Control-Allow-Origin" not in response
    assert Event.objects.count() == 0


@pytest.mark.parametrize(("method", "path"), SERVER, ids=["identify", "events", "erase", "export"])
@pytest.mark.parametrize("credential", ["publishable-bearer", "publishable-header", "publishable-query", "rotated-secret"])
def test_identity__server_api_without_current_secret_key__401_nothing_done(client, two_applications, settings,
                                                                          method, path, credential):
    ours, _ = two_applications
    settings.WAYLINE_KEY_CACHE_SECONDS = 0
    old_secret = ours.secret_key
    if credential == "rotated-secret":
        application_rotate_key(application=ours, which="secret_key")
    headers = {
        "publishable-bearer": {"HTTP_AUTHORIZATION": f"Bearer {ours.publishable_key}"},
        "publishable-header": publishable_key_headers(ours),
        "publishable-query": {},
        "rotated-secret": {"HTTP_AUTHORIZATION": f"Bearer {old_secret}"},
    }[credential]
    query = f"?key={ours.publishable_key}" if credential == "publishable-query" else ""
    if method == "get":
        response = client.get(f"{path}{query}{'&' if query else '?'}user_id=user-1", **headers)
    else:
        response = client.post(f"{path}{query}", json.dumps({"user_id": "user-1", "events": [make_event_payload()]}),
                               content_type="application/json", **headers)
    assert response.status_code == 401
    assert "user-1" not in response.content.decode()
    assert EndUser.objects.filter(application=ours, external_id="user-1").exists() and Event.objects.count() == 0


# --- CORS -------------------------------------------------------------------------------------

@pytest.mark.parametrize(("method", "path"), PUBLIC + SERVER,
                         ids=["identify", "events", "content", "s-identify", "s-events", "s-erase", "s-export"])
@pytest.mark.parametrize("origin", ["https://evil.test", "null", "https://app.acme.test.evil.test", "http://app.acme.test"],
                         ids=["other", "null", "suffix", "other-scheme"])
def test_cors__foreign_origin__no_allow_origin_and_never_credentials(client, application, method, path, origin):
    headers = publishable_key_headers(application, HTTP_ORIGIN=origin)
    response = call(client, method, path, **headers)
    assert response.status_code in (401, 403)  # refused outright, not merely hidden from the page
    preflight = client.options(path, HTTP_ORIGIN=origin, HTTP_ACCESS_CONTROL_REQUEST_METHOD=method.upper())
    for answer in (response, preflight):
        assert "Access-Control-Allow-Origin" not in answer
        assert "Access-Control-Allow-Credentials" not in answer


@pytest.mark.parametrize(("method", "path"), PUBLIC, ids=["identify", "events", "content"])
def test_cors__allowed_origin_even_on_errors__allow_origin_without_credentials(client, application, method, path):
    for headers in (publishable_key_headers(application, HTTP_ORIGIN=ALLOWED_ORIGIN),
                    {"HTTP_X_WAYLINE_KEY": "wl_pk_unknown", "HTTP_ORIGIN": ALLOWED_ORIGIN}):
        response = call(client, method, path, **headers)
        assert response["Access-Control-Allow-Origin"] == ALLOWED_ORIGIN
        assert "Access-Control-Allow-Credentials" not in response
        assert "Set-Cookie" not in response


# --- rate limits ------------------------------------------------------------------------------

@pytest.fixture
def clock(monkeypatch):
    now = {"t": float(uuid.uuid4().int % 10**6) * 86400 + 30}  # 30 s into a window of its own
    monkeypatch.setattr(FixedWindowThrottle, "timer", staticmethod(lambda: now["t"]))
    return now


@pytest.mark.parametrize(("method", "path"), PUBLIC, ids=["identify", "events", "content"])
@pytest.mark.parametrize("scope", ["publishable_key", "client_ip"])
def test_limits__every_public_endpoint_per_key_and_per_ip__429_with_retry_after(client, application, settings, clock,
                                                                              method, path, scope):
    settings.WAYLINE_RATE_LIMITS = {"publishable_key": "1000/minute", "client_ip": "1000/minute", scope: "2/minute"}
    headers = publishable_key_headers(application, REMOTE_ADDR="10.1.1.1")
    assert [call(client, method, path, **headers).status_code < 400 for _ in range(2)] == [True, True]
    refused = call(client, method, path, **headers)
    assert refused.status_code == 429
    assert refused["Retry-After"] == "30" and refused.json()["retry_after"] == 30
    other = make_application("Other") if scope == "publishable_key" else application
    other_ip = "10.1.1.1" if scope == "publishable_key" else "10.2.2.2"
    assert call(client, method, path, **publishable_key_headers(other, REMOTE_ADDR=other_ip)).status_code < 400
