"""POST /api/v1/server/users/erase and GET /api/v1/server/users/export: secret key only, located errors."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.models import EndUser, EndUserErasure
from tests.factories import make_application, make_user_with_history, publishable_key_headers, secret_key_headers

ERASE = "/api/v1/server/users/erase"
EXPORT = "/api/v1/server/users/export"


@pytest.fixture
def alice(application):
    return make_user_with_history(application, "alice", at=timezone.now() - timedelta(hours=1))


def erase(client, application, body, **headers):
    return client.post(ERASE, json.dumps(body), content_type="application/json",
                       **(headers or secret_key_headers(application)))


def test_erase__secret_key__200_counts_and_audited_as_api(client, application, alice):
    response = erase(client, application, {"user_id": "alice"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["rows_deleted"]["analytics.event"] == 1 and body["rows_deleted"]["analytics.enduser"] == 1
    assert body["total_rows"] == sum(body["rows_deleted"].values())
    erasure = EndUserErasure.objects.get(pk=body["erasure_id"])
    assert erasure.via == EndUserErasure.Via.API and application.name in erasure.requested_by
    assert not EndUser.objects.filter(external_id="alice").exists()


def test_erase__twice__second_is_404(client, application, alice):
    erase(client, application, {"user_id": "alice"})
    response = erase(client, application, {"user_id": "alice"})
    assert response.status_code == 404
    assert "No user" in response.json()["detail"]


@pytest.mark.parametrize(
    ("headers", "status"),
    [
        ("publishable-header", 401), ("publishable-bearer", 401), ("none", 401), ("other-application-secret", 404),
    ],
    ids=["publishable-header", "publishable-bearer", "no-key", "other-application-secret"],
)
def test_erase__wrong_key__refused_and_user_kept(client, application, alice, headers, status):
    other = make_application("Other")
    chosen = {
        "publishable-header": publishable_key_headers(application),
        "publishable-bearer": {"HTTP_AUTHORIZATION": f"Bearer {application.publishable_key}"},
        "none": {"HTTP_X_NOTHING": "1"},
        "other-application-secret": secret_key_headers(other),  # a real key, but alice is not its user
    }[headers]
    response = erase(client, application, {"user_id": "alice"}, **chosen)
    assert response.status_code == status
    assert EndUser.objects.filter(pk=alice.pk).exists()
    assert not EndUserErasure.objects.exists()


@pytest.mark.parametrize(
    ("body", "message"),
    [({}, "required"), ({"user_id": ""}, "required"), ({"user_id": ["alice"]}, "required"),
     ({"user_id": "x" * 201}, "the limit is 200"), ({"user_id": "a\x00b"}, "NUL"), ([], "JSON object")],
    ids=["missing", "empty", "list", "too-long", "nul", "not-an-object"],
)
def test_erase__bad_body__400_located(client, application, alice, body, message):
    response = erase(client, application, body)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert EndUser.objects.filter(pk=alice.pk).exists()


def test_erase__text_plain__415(client, application, alice):
    response = client.post(ERASE, '{"user_id": "alice"}', content_type="text/plain", **secret_key_headers(application))
    assert response.status_code == 415


def test_export__secret_key__all_data_as_json_not_cached(client, application, alice):
    response = client.get(EXPORT, {"user_id": "alice"}, **secret_key_headers(application))
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["user"]["traits"] == {"email": "alice@example.test"}
    assert body["data"]["analytics.surveyresponse"][0]["comment"] == "alice loves it"
    assert body["data"]["analytics.event"][0]["name"] == "integration_connected"


@pytest.mark.parametrize(("params", "headers", "status"), [
    ({"user_id": "alice"}, "publishable", 401),
    ({"user_id": "alice"}, "publishable-query", 401),
    ({}, "secret", 400),
    ({"user_id": "nobody"}, "secret", 404),
], ids=["publishable-header", "publishable-query", "missing-user-id", "unknown-user"])
def test_export__refused_or_bad__no_data(client, application, alice, params, headers, status):
    chosen = {"publishable": publishable_key_headers(application), "secret": secret_key_headers(application),
              "publishable-query": {}}[headers]
    if headers == "publishable-query":
        params = {**params, "key": application.publishable_key}
    response = client.get(EXPORT, params, **chosen)
    assert response.status_code == status
    assert "alice@example.test" not in response.content.decode()


def test_users_api__cross_origin__never_cors_headers(client, application, alice):
    response = client.get(EXPORT, {"user_id": "alice"}, **secret_key_headers(application, HTTP_ORIGIN="https://app.acme.test"))
    assert response.status_code == 200
    assert "Access-Control-Allow-Origin" not in response
