"""The secret key and the identity secret never leave the server: not in API answers, logs or pages.

Logs are checked as they are written: each record captured during the requests is formatted with
the formatter ``settings.LOGGING`` configures (``django.request`` puts the request's full path on
every 4xx/5xx record, query string included).

Requests carry the secret key the ways a customer might send it — rightly (Authorization on the
server API) and wrongly (in the publishable header, in the ``key`` query parameter, on a request
that fails with a 500) — and every answer, every log record (all loggers, DEBUG) and the pages
that embed the snippet are searched for either secret.
"""
import json
import logging

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils.module_loading import import_string

from analytics.ingest.validation import user_hash
from onboarding.install_tag import install_tag
from tests.factories import make_application, make_events_batch, make_known_user, make_live_tour


@pytest.fixture
def verified(db):
    application = make_application("Secretive", require_identity_verification=True)
    make_known_user(application, "user-1")
    make_live_tour(application, [{"selector": "#go", "title": "Go"}])
    return application


def requests_carrying_secrets(application) -> list[tuple[str, str, dict, bytes | None]]:
    """(method, path, headers, body) of requests that carry the secret key somewhere."""
    secret = application.secret_key
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {secret}"}
    digest = user_hash(application.identity_secret, "user-1")
    identify = json.dumps({"user_id": "user-1", "user_hash": digest}).encode()
    events = json.dumps({"events": make_events_batch(2)}).encode()
    return [
        ("post", "/api/v1/server/identify", bearer, identify),
        ("post", "/api/v1/server/events", bearer, events),
        ("get", "/api/v1/server/users/export?user_id=user-1", bearer, None),
        ("post", "/api/v1/server/users/erase", bearer, b'{"user_id": "nobody"}'),
        ("post", "/api/v1/identify", {"HTTP_X_WAYLINE_KEY": secret}, identify),
        ("post", f"/api/v1/events?key={secret}", {}, events),
        ("get", f"/api/v1/content?key={secret}&user_id=user-1&url=https://app.acme.test/", {}, None),
        ("get", f"/api/v1/content?user_id=user-1&url=https://app.acme.test/&user_hash={digest}",
         {"HTTP_X_WAYLINE_KEY": application.publishable_key}, None),
        ("post", "/api/v1/server/events", {"HTTP_AUTHORIZATION": f"Bearer {secret}x"}, events),
        ("get", "/api/schema/", bearer, None),
        ("post", "/api/v1/server/nothing-here", bearer, b"{}"),
    ]


def written(records) -> str:
    """The records as the configured console handler writes them, tracebacks included."""
    spec = settings.LOGGING["formatters"][settings.LOGGING["handlers"]["console"]["formatter"]]
    formatter = import_string(spec["()"])(spec["format"])
    return "\n".join(formatter.format(record) for record in records)


def send(client, method, path, headers, body):
    if method == "get":
        return client.get(path, **headers)
    return client.post(path, body, content_type="application/json", **headers)


def test_secrets__every_api_answer_and_log_record__never_contain_them(client, verified, caplog):
    secrets = [verified.secret_key, verified.identity_secret]
    statuses = []
    with caplog.at_level(logging.DEBUG):
        for method, path, headers, body in requests_carrying_secrets(verified):
            response = send(client, method, path, headers, body)
            statuses.append(response.status_code)
            text = response.content.decode() + json.dumps(dict(response.items()))
            assert not any(secret in text for secret in secrets), path
    assert {200, 202, 401, 404} <= set(statuses)  # successes and refusals both checked
    logged = written(caplog.records)
    assert "Unauthorized: /api/v1/events" in logged  # the refused requests were logged, with their path
    leaks = [line for line in logged.splitlines() if any(secret in line for secret in secrets)]
    assert not leaks, leaks[:3]


def failing_hook(*, application_id, events):
    raise RuntimeError("a hook that breaks")


def test_secrets__server_error_with_secret_key__log_and_answer_free_of_it(client, verified, settings, caplog):
    settings.WAYLINE_INGEST_HOOKS = [f"{__name__}.failing_hook"]
    with caplog.at_level(logging.DEBUG):
        response = client.post(
            "/api/v1/server/events", json.dumps({"events": make_events_batch(1)}), content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {verified.secret_key}",
        )
    assert response.status_code == 500
    assert any(record.levelno >= logging.ERROR for record in caplog.records)  # the error was logged
    logged = written(caplog.records)
    assert "RuntimeError: a hook that breaks" in logged
    assert verified.secret_key not in logged and verified.secret_key not in response.content.decode()


def test_secrets__install_tag_and_demo_page__publishable_key_only(client, verified):
    tag = install_tag(application=verified, api_host="https://wayline.example")
    page = client.get(reverse("demo:app"), {"app": verified.publishable_key}).content.decode()
    for source in (tag, page):
        assert verified.publishable_key in source
        assert verified.secret_key not in source and verified.identity_secret not in source


def test_secrets__admin_application_page_for_viewer__masked(viewer_client, verified):
    page = viewer_client.get(reverse("admin:onboarding_application_change", args=[verified.pk])).content.decode()
    assert verified.publishable_key in page  # the page rendered the application
    assert verified.secret_key not in page and verified.identity_secret not in page
