"""The database restarting is nobody's fault in the request: 503 with Retry-After, never a 500."""
import json

import pytest
from django.db import OperationalError, connection

from analytics.api.authentication import key_caches_clear
from analytics.models import Event
from onboarding.config_cache import published_config_clear
from tests.factories import make_event_payload, publishable_key_headers


def _database_down(execute, sql, params, many, context):
    raise OperationalError("connection refused: the database is restarting")


@pytest.fixture(autouse=True)
def _cold_caches():
    key_caches_clear()
    published_config_clear()
    yield
    key_caches_clear()
    published_config_clear()


@pytest.mark.parametrize("warm", [False, True], ids=["key-never-seen", "key-cached"])
def test_content__database_unreachable__503_with_retry_after(client, application, warm):
    # Given (or not) a key the process has already looked up
    params = {"user_id": "user-1", "url": "https://app.acme.test/"}
    if warm:
        assert client.get("/api/v1/content", params, **publishable_key_headers(application)).status_code == 200
    # When every query fails
    with connection.execute_wrapper(_database_down):
        response = client.get("/api/v1/content", params, **publishable_key_headers(application))
    # Then the client is told to come back, in the API's JSON error shape
    assert response.status_code == 503, response.content
    assert response["Retry-After"] == "5"
    assert response.json()["code"] == "unavailable"


def test_identify__database_unreachable__503_not_500(client, application):
    body = json.dumps({"user_id": "user-1", "traits": {"plan": "pro"}})
    with connection.execute_wrapper(_database_down):
        response = client.post("/api/v1/identify", body, content_type="application/json",
                               **publishable_key_headers(application))
    assert response.status_code == 503, response.content
    assert response.json()["detail"] == "The service is briefly unavailable; retry shortly."


def test_events__direct_write_and_database_unreachable__503_so_the_snippet_resends(client, application, settings):
    # Given no event buffer (the embedded default writes events in the request)
    settings.WAYLINE_EVENT_BUFFER_URL = ""
    body = json.dumps({"events": [make_event_payload()]})
    with connection.execute_wrapper(_database_down):
        response = client.post("/api/v1/events", body, content_type="application/json",
                               **publishable_key_headers(application))
    # Then the answer is one the snippet retries (it keeps events until a 2xx), and nothing half-stored
    assert response.status_code == 503, response.content
    assert Event.objects.count() == 0
