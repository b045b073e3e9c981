"""POST /api/v1/identify and /api/v1/server/identify: upsert, traits, accounts, merge, identity verification."""
import json

import pytest

from analytics.ingest.validation import user_hash
from analytics.models import Account, EndUser, Event, StageTransition, UserAlias
from tests.factories import make_application, make_event_payload, publishable_key_headers, secret_key_headers

IDENTIFY = "/api/v1/identify"


def identify(client, application, **body):
    return client.post(IDENTIFY, json.dumps(body), content_type="application/json", **publishable_key_headers(application))


def post_events(client, application, events):
    return client.post(
        "/api/v1/events", json.dumps({"events": events}), content_type="application/json",
        **publishable_key_headers(application),
    )


def test_identify__new_user__created_with_traits_and_first_stage(client, application):
    response = identify(client, application, user_id="u-1", traits={"plan": "pro", "role": "admin"})
    assert response.status_code == 200, response.content
    assert response.json() == {"user_id": "u-1", "anonymous_id": None, "stage": "signup"}
    user = EndUser.objects.get(application=application, external_id="u-1")
    assert user.traits == {"plan": "pro", "role": "admin"}
    assert StageTransition.objects.get(user=user).to_stage.slug == "signup"


def test_identify__second_call__traits_merged_and_null_deletes(client, application):
    identify(client, application, user_id="u-1", traits={"plan": "free", "role": "admin", "seats": 3})
    identify(client, application, user_id="u-1", traits={"plan": "pro", "role": None, "company_size": 40})
    user = EndUser.objects.get(application=application, external_id="u-1")
    assert user.traits == {"plan": "pro", "seats": 3, "company_size": 40}


def test_identify__integer_user_id__stored_as_string(client, application):
    assert identify(client, application, user_id=1234).json()["user_id"] == "1234"


def test_identify__anonymous_only__user_with_alias(client, application):
    response = identify(client, application, anonymous_id="anon-1", traits={"utm_source": "ads"})
    assert response.json() == {"user_id": None, "anonymous_id": "anon-1", "stage": "signup"}
    alias = UserAlias.objects.get(application=application, anonymous_id="anon-1")
    assert alias.user.external_id is None and alias.user.traits == {"utm_source": "ads"}


def test_identify__account__upserted_and_user_linked(client, application):
    identify(client, application, user_id="u-1", account={"id": "acme", "traits": {"plan": "team", "size": 12}})
    identify(client, application, user_id="u-2", account={"id": "acme", "traits": {"size": 13}})
    account = Account.objects.get(application=application, external_id="acme")
    assert account.traits == {"plan": "team", "size": 13}
    assert set(account.users.values_list("external_id", flat=True)) == {"u-1", "u-2"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "user_id"),
        ({"user_id": ""}, "user_id"),
        ({"user_id": "u", "traits": [1]}, "traits"),
        ({"user_id": "u", "traits": {f"k{i}": i for i in range(101)}}, "traits"),
        ({"user_id": "u", "traits": {"bio": "x" * 9000}}, "traits"),
        ({"user_id": "u", "account": "acme"}, "account"),
        ({"user_id": "u", "account": {"traits": {}}}, "account.id"),
        ({"user_id": "u", "account": {"id": "a", "traits": {"n": float("inf")}}}, None),
    ],
    ids=["no-ids", "empty-user-id", "traits-list", "traits-101-keys", "traits-over-8kib", "account-string",
         "account-without-id", "infinite-number"],
)
def test_identify__invalid_body__400_with_field(client, application, body, field):
    response = client.post(
        IDENTIFY, json.dumps(body) if field else '{"user_id": "u", "account": {"id": "a", "traits": {"n": 1e999}}}',
        content_type="application/json", **publishable_key_headers(application),
    )
    assert response.status_code == 400, response.content
    errors = response.json()["errors"]
    assert (field or "account.traits") in errors


def test_identify__merged_traits_over_limit__400_and_nothing_saved(client, application):
    identify(client, application, user_id="u-1", traits={f"a{i}": i for i in range(60)})
    response = identify(client, application, user_id="u-1", traits={f"b{i}": i for i in range(60)})
    assert response.status_code == 400
    assert "120 keys" in response.json()["errors"]["traits"][0]
    assert len(EndUser.objects.get(external_id="u-1").traits) == 60


def test_identify__anonymous_then_identified__history_moves_and_alias_follows(client, application):
    # Given an anonymous visitor with events
    post_events(client, application, [make_event_payload("$pageview", user_id=None, anonymous_id="anon-1")] )
    anonymous = UserAlias.objects.get(anonymous_id="anon-1").user
    # And an identified user who already exists (signed up on another device)
    post_events(client, application, [make_event_payload("report_viewed", user_id="u-1")])
    # When the visitor signs in
    response = identify(client, application, user_id="u-1", anonymous_id="anon-1")
    # Then the anonymous history belongs to the identified user and the anonymous row is gone
    assert response.json()["user_id"] == "u-1"
    user = EndUser.objects.get(application=application, external_id="u-1")
    assert set(user.events.values_list("name", flat=True)) == {"$pageview", "report_viewed"}
    assert not EndUser.objects.filter(pk=anonymous.pk).exists()
    # And later events sent with the old anonymous id land on the identified user
    post_events(client, application, [make_event_payload("$pageview", user_id=None, anonymous_id="anon-1")])
    assert user.events.count() == 3
    assert EndUser.objects.filter(application=application).count() == 1


def test_identify__anonymous_user_signs_up__same_row_becomes_identified(client, application):
    post_events(client, application, [make_event_payload("$pageview", user_id=None, anonymous_id="anon-1")])
    anonymous_pk = UserAlias.objects.get(anonymous_id="anon-1").user_id
    identify(client, application, user_id="u-new", anonymous_id="anon-1", traits={"plan": "trial"})
    user = EndUser.objects.get(external_id="u-new")
    assert user.pk == anonymous_pk
    assert user.events.count() == 1


def test_identify__anonymous_id_of_another_identified_user__not_merged(client, application):
    identify(client, application, user_id="alice", anonymous_id="shared-laptop")
    identify(client, application, user_id="bob", anonymous_id="shared-laptop")
    assert UserAlias.objects.get(anonymous_id="shared-laptop").user.external_id == "alice"
    assert set(EndUser.objects.values_list("external_id", flat=True)) == {"alice", "bob"}


def test_identify__key_of_application_a__never_touches_b_user_with_same_id(client, application):
    other = make_application("Other", allowed_origins=["https://other.test"])
    identify(client, other, user_id="u-1", traits={"plan": "enterprise"})
    post_events(client, other, [make_event_payload(user_id="u-1")])
    identify(client, application, user_id="u-1", traits={"plan": "free"}, anonymous_id="anon-x")
    post_events(client, application, [make_event_payload(user_id="u-1"), make_event_payload(user_id="u-1")])
    theirs = EndUser.objects.get(application=other, external_id="u-1")
    assert theirs.traits == {"plan": "enterprise"}
    assert theirs.events.count() == 1
    assert Event.objects.filter(application=application).count() == 2
    assert EndUser.objects.get(application=application, external_id="u-1").traits == {"plan": "free"}


# --- identity verification ------------------------------------------------------------------

@pytest.fixture
def verified_application(db):
    return make_application("Verified", require_identity_verification=True)


def test_identify__verification_on_right_hash__200(client, verified_application):
    digest = user_hash(verified_application.identity_secret, "u-1")
    assert identify(client, verified_application, user_id="u-1", user_hash=digest).status_code == 200


def test_identify__verification_on_uppercase_hash__200(client, verified_application):
    digest = user_hash(verified_application.identity_secret, "u-1").upper()
    assert identify(client, verified_application, user_id="u-1", user_hash=digest).status_code == 200


@pytest.mark.parametrize(
    ("hash_for", "message"),
    [(None, "user_hash is missing"), ("wrong", "user_hash is invalid"), ("u-2", "user_hash is invalid")],
    ids=["missing", "garbage", "another-users-hash"],
)
def test_identify__verification_on_bad_hash__401_and_nothing_written(client, verified_application, hash_for, message):
    body = {"user_id": "u-1", "traits": {"plan": "pro"}}
    if hash_for == "wrong":
        body["user_hash"] = "0" * 64
    elif hash_for:
        body["user_hash"] = user_hash(verified_application.identity_secret, hash_for)
    response = identify(client, verified_application, **body)
    assert response.status_code == 401
    assert response.json()["detail"].startswith(message)
    assert not EndUser.objects.filter(external_id="u-1").exists()


def test_identify__verification_on_anonymous_only__allowed(client, verified_application):
    assert identify(client, verified_application, anonymous_id="anon-1").status_code == 200


def test_identify__hash_of_another_application_secret__401(client, verified_application):
    other = make_application("Other", require_identity_verification=True)
    digest = user_hash(other.identity_secret, "u-1")
    assert identify(client, verified_application, user_id="u-1", user_hash=digest).status_code == 401


def test_server_identify__secret_key__no_hash_needed(client, verified_application):
    response = client.post(
        "/api/v1/server/identify", json.dumps({"user_id": "u-1", "traits": {"plan": "pro"}}),
        content_type="application/json", **secret_key_headers(verified_application),
    )
    assert response.status_code == 200
    assert EndUser.objects.get(external_id="u-1").traits == {"plan": "pro"}
