"""GET /api/v1/content end to end: key, parameters, decision, checklists, preview, queries."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from analytics.ingest.validation import user_hash
from analytics.models import ChecklistItemCompletion, EndUser
from onboarding.config_cache import published_config_clear
from onboarding.models import Application, ChecklistItem, Guide
from onboarding.preview import preview_token_make
from onboarding.services import guide_publish, guide_unpublish
from tests.factories import (
    make_account_with_traits,
    make_application,
    make_guide,
    make_guide_state,
    make_known_user,
    make_live_guide,
    make_preview_token_issued_at,
    make_segment,
)

PAGE = "https://app.acme.test/settings/team"


@pytest.fixture(autouse=True)
def _empty_config_cache():
    published_config_clear()
    yield
    published_config_clear()


def get_content(client, application: Application, **params):
    params = {"user_id": "user-1", "url": PAGE, "device": "desktop", "session_id": "s-1", **params}
    params = {name: value for name, value in params.items() if value is not None}
    return client.get(reverse("api-content"), params, HTTP_X_WAYLINE_KEY=application.publishable_key)


def guide_ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [guide["id"] for guide in response.json()["guides"]]


# --- the answer --------------------------------------------------------------------------------

def test_content__live_guide__contract_shape(client, application):
    tour = make_live_guide(application, Guide.Kind.TOUR, priority=3)
    response = get_content(client, application)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["preview"] is False
    assert body["config_version"] == Application.objects.get(pk=application.pk).config_version
    assert body["theme"] == application.theme()
    [guide] = body["guides"]
    assert guide["id"] == tour.id
    assert guide["version"] == 1
    assert guide["content"]["steps"][0]["selector"] == "#connect"
    assert guide["state"] == {"seen_count": 0, "dismissed": False, "completed": False}
    assert guide["experiment"] is None
    assert "targeting" not in guide


def test_content__unknown_user__new_user_answer_and_no_row_created(client, application):
    first_stage = make_live_guide(application, stages=["signup"])
    make_live_guide(application, stages=["activation"])
    segment = make_segment(application, rule={"trait": "persona", "op": "exists"})
    make_live_guide(application, Guide.Kind.BAR, segment=segment)
    assert guide_ids(get_content(client, application, user_id="never-seen")) == [first_stage.id]
    assert guide_ids(get_content(client, application, user_id=None, anonymous_id="anon-new")) == [first_stage.id]
    assert not EndUser.objects.exists()


def test_content__anonymous_id__answers_for_the_aliased_user(client, application):
    make_known_user(application, "u-9", stage="activation", anonymous_ids=("anon-9",))
    activation = make_live_guide(application, stages=["activation"])
    assert guide_ids(get_content(client, application, user_id=None, anonymous_id="anon-9")) == [activation.id]


def test_content__stage_and_segment__targets_user_and_account_traits(client, application):
    segment = make_segment(application, rule={"all": [
        {"trait": "role", "op": "eq", "value": "admin"},
        {"account_trait": "plan", "op": "eq", "value": "pro"},
    ]})
    wanted = make_live_guide(application, Guide.Kind.BAR, stages=["activation"], segment=segment)
    make_live_guide(application, Guide.Kind.TOUR, stages=["adoption"])
    pro, free = make_account_with_traits(application, "pro-co", plan="pro"), make_account_with_traits(application, "free-co", plan="free")
    make_known_user(application, "admin-pro", traits={"role": "admin"}, account=pro, stage="activation")
    make_known_user(application, "admin-free", traits={"role": "admin"}, account=free, stage="activation")
    make_known_user(application, "member-pro", traits={"role": "member"}, account=pro, stage="activation")
    assert guide_ids(get_content(client, application, user_id="admin-pro")) == [wanted.id]
    assert guide_ids(get_content(client, application, user_id="admin-free")) == []
    assert guide_ids(get_content(client, application, user_id="member-pro")) == []


@pytest.mark.parametrize(
    ("url", "device", "shown"),
    [
        ("https://app.acme.test/settings/team", "desktop", True),
        ("https://app.acme.test/settings/team/", "desktop", False),
        ("https://app.acme.test/billing", "desktop", False),
        ("https://app.acme.test/settings/team", "mobile", False),
    ],
    ids=["page-and-device-match", "excluded-page", "other-page", "other-device"],
)
def test_content__url_rules_and_device__on_matching_pages_and_devices(client, application, url, device, shown):
    guide = make_live_guide(
        application, device=Guide.Device.DESKTOP,
        url_rules=[("/settings/*", "glob", False), ("/settings/team/", "regex", True)],
    )
    assert guide_ids(get_content(client, application, url=url, device=device)) == ([guide.id] if shown else [])


def test_content__guide_state__frequency_and_state_returned(client, application):
    once = make_live_guide(application, frequency=Guide.Frequency.ONCE, priority=2)
    every = make_live_guide(application, Guide.Kind.BAR, frequency=Guide.Frequency.EVERY_SESSION, priority=1)
    user = make_known_user(application)
    earlier = timezone.now() - timedelta(days=2)
    make_guide_state(user, once, seen_count=1, last_seen_at=earlier, last_session_id="s-0")
    make_guide_state(user, every, seen_count=4, last_seen_at=earlier, last_session_id="s-0", dismissed_at=earlier)
    body = get_content(client, application, session_id="s-1").json()
    assert [guide["id"] for guide in body["guides"]] == [every.id]
    assert body["guides"][0]["state"] == {"seen_count": 4, "dismissed": True, "completed": False}
    # Back in the session where the once-only tour was shown and left open: it is in progress.
    assert guide_ids(get_content(client, application, session_id="s-0")) == [once.id]


def test_content__throttle_reached__only_in_progress_and_named_manual_guides(client, application):
    Application.objects.filter(pk=application.pk).update(throttle_per_hour=1, throttle_per_day=0)
    in_progress = make_live_guide(application, priority=1)
    make_live_guide(application, Guide.Kind.BAR, priority=9)
    manual = make_live_guide(application, Guide.Kind.SURVEY, trigger=Guide.Trigger.MANUAL)
    user = make_known_user(application)
    make_guide_state(user, in_progress, seen_count=1, last_seen_at=timezone.now() - timedelta(minutes=5),
                     last_session_id="s-1")
    assert guide_ids(get_content(client, application)) == [in_progress.id]
    assert guide_ids(get_content(client, application, guide_id=str(manual.id))) == [in_progress.id, manual.id]


def test_content__manual_guide__only_when_named(client, application):
    manual = make_live_guide(application, trigger=Guide.Trigger.MANUAL)
    assert guide_ids(get_content(client, application)) == []
    assert guide_ids(get_content(client, application, guide_id=str(manual.id))) == [manual.id]


def test_content__priority__highest_first(client, application):
    Application.objects.filter(pk=application.pk).update(throttle_per_hour=0, throttle_per_day=0)
    low = make_live_guide(application, Guide.Kind.BAR, priority=-1)
    high = make_live_guide(application, Guide.Kind.TOUR, priority=10)
    middle = make_live_guide(application, Guide.Kind.CHECKLIST, priority=4)
    assert guide_ids(get_content(client, application)) == [high.id, middle.id, low.id]


def test_content__checklist__items_completed_for_this_user_only(client, application):
    checklist = make_guide(application, Guide.Kind.CHECKLIST)
    second = ChecklistItem.objects.create(guide=checklist, order=2, title="Invite", completion_event="invited")
    guide_publish(guide=checklist)
    user, other = make_known_user(application), make_known_user(application, "user-2")
    ChecklistItemCompletion.objects.create(user=user, item=second, completed_at=timezone.now())
    ChecklistItemCompletion.objects.create(user=other, item=checklist.items.get(order=1), completed_at=timezone.now())
    [guide] = get_content(client, application).json()["guides"]
    assert [(item["title"], item["completed"]) for item in guide["content"]["items"]] == [
        ("Connect", False), ("Invite", True)
    ]


def test_content__schedule__clock_injected_into_the_view(rf, application):
    from rest_framework.test import force_authenticate

    from analytics.api.content import ContentApi

    start = timezone.now() + timedelta(days=3)
    scheduled = make_live_guide(application, starts_at=start, ends_at=start + timedelta(days=1))
    application = Application.objects.get(pk=application.pk)

    def at(moment):
        request = rf.get("/api/v1/content", {"user_id": "u", "url": PAGE})
        force_authenticate(request, token=application)
        response = ContentApi.as_view(clock=lambda: moment)(request)
        return [guide["id"] for guide in response.data["guides"]]

    assert at(timezone.now()) == []
    assert at(start + timedelta(hours=1)) == [scheduled.id]
    assert at(start + timedelta(days=2)) == []


# --- applications are isolated ------------------------------------------------------------------

def test_content__key_of_application_a__never_sees_application_b(client, application):
    other = make_application("Other")
    mine = make_live_guide(application)
    theirs = make_live_guide(other, trigger=Guide.Trigger.MANUAL)
    make_live_guide(other)
    make_known_user(other, "user-1", stage="activation")
    assert guide_ids(get_content(client, application)) == [mine.id]
    assert guide_ids(get_content(client, application, guide_id=str(theirs.id))) == [mine.id]


def test_content__no_key__refused(client, application):
    make_live_guide(application)
    response = client.get(reverse("api-content"), {"user_id": "u", "url": PAGE})
    assert response.status_code in (401, 403)
    assert "guides" not in response.json()


@pytest.mark.parametrize(("params", "status", "message"), [
    ({"user_hash": "right"}, 200, None),
    ({"user_hash": None}, 401, "user_hash is missing"),
    ({"user_hash": "0" * 64}, 401, "user_hash is invalid"),
    ({"user_hash": "other-user"}, 401, "user_hash is invalid"),
    ({"user_id": None, "anonymous_id": "anon-1", "user_hash": None}, 200, None),
], ids=["right-hash", "missing", "forged", "another-users-hash", "anonymous-needs-none"])
def test_content__identity_verification_on__identified_user_needs_user_hash(client, db, params, status, message):
    # Given an application that requires identity verification, with a guide live for everyone
    application = make_application("Verified", require_identity_verification=True)
    make_live_guide(application, Guide.Kind.BAR)
    hashes = {"right": user_hash(application.identity_secret, "user-1"),
              "other-user": user_hash(application.identity_secret, "user-2")}
    params = {**params, "user_hash": hashes.get(params.get("user_hash"), params.get("user_hash"))}
    # When the snippet asks what user-1 sees
    response = get_content(client, application, **params)
    # Then only a request that proves who it is gets an answer
    assert response.status_code == status, response.content
    if message:
        assert message in response.json()["detail"]
        assert "guides" not in response.json()
    else:
        assert len(response.json()["guides"]) == 1


# --- malformed input: 400 with a message, never 500 -------------------------------------------

@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"url": None}, "url"),
        ({"url": ""}, "url"),
        ({"url": "/settings/team"}, "url"),
        ({"url": "javascript:alert(1)"}, "url"),
        ({"url": "https://[::1/x"}, "url"),
        ({"url": "https://app.acme.test:99999/"}, "url"),
        ({"url": "https://app.acme.test/" + "x" * 2000}, "url"),
        ({"user_id": None}, "user_id"),
        ({"user_id": "a\x00b"}, "user_id"),
        ({"user_id": "u" * 201}, "user_id"),
        ({"user_id": None, "anonymous_id": "anon\n1"}, "anonymous_id"),
        ({"device": "tv"}, "device"),
        ({"guide_id": "abc"}, "guide_id"),
        ({"guide_id": "-3"}, "guide_id"),
        ({"guide_id": "0"}, "guide_id"),
        ({"guide_id": "9" * 30}, "guide_id"),
        ({"guide_id": "١٢"}, "guide_id"),
        ({"session_id": "s" * 101}, "session_id"),
    ],
    ids=["no-url", "empty-url", "relative-url", "javascript-url", "broken-ipv6", "bad-port", "long-url",
         "no-user", "nul-in-user", "long-user", "newline-in-anonymous-id", "unknown-device", "guide-id-word",
         "guide-id-negative", "guide-id-zero", "guide-id-huge", "guide-id-arabic-digits", "long-session"],
)
def test_content__malformed_parameter__400_naming_it(client, application, params, field):
    response = get_content(client, application, **params)
    assert response.status_code == 400
    body = response.json()
    assert field in str(body)
    assert "guides" not in body


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    params=st.dictionaries(
        st.sampled_from(["user_id", "anonymous_id", "url", "device", "session_id", "guide_id", "preview"]),
        st.text(max_size=60) | st.sampled_from(["https://app.acme.test/", "1", "mobile", ""]),
    )
)
def test_content__arbitrary_parameters__never_a_server_error(client, application, params):
    response = client.get(reverse("api-content"), params, HTTP_X_WAYLINE_KEY=application.publishable_key)
    assert response.status_code in (200, 400, 403)
    assert response["Content-Type"].startswith("application/json")


# --- preview ----------------------------------------------------------------------------------

def test_content__preview_token__draft_of_that_guide_regardless_of_targeting(client, application, editor):
    guide = make_live_guide(application, stages=["advocacy"], device=Guide.Device.MOBILE)
    guide.steps.update(title="Draft title")
    make_live_guide(application, Guide.Kind.BAR)
    token = preview_token_make(guide_id=guide.id, application_id=application.id, user_id=editor.id)
    response = get_content(client, application, preview=token)
    assert response.status_code == 200
    body = response.json()
    assert body["preview"] is True
    [draft] = body["guides"]
    assert (draft["id"], draft["version"]) == (guide.id, 0)
    assert draft["content"]["steps"][0]["title"] == "Draft title"
    assert "targeting" not in draft
    assert draft["state"] == {"seen_count": 0, "dismissed": False, "completed": False}


def test_content__preview_of_unpublished_checklist__items_not_completed(client, application, editor):
    checklist = make_guide(application, Guide.Kind.CHECKLIST)
    token = preview_token_make(guide_id=checklist.id, application_id=application.id, user_id=editor.id)
    [draft] = get_content(client, application, preview=token).json()["guides"]
    assert [item["completed"] for item in draft["content"]["items"]] == [False]


@pytest.mark.parametrize("problem", ["other-application", "expired", "forged", "garbage"])
def test_content__bad_preview_token__403_with_message(client, application, editor, problem):
    other = make_application("Other")
    guide = make_guide(application)
    if problem == "other-application":
        foreign = make_guide(other)
        token = preview_token_make(guide_id=foreign.id, application_id=other.id, user_id=editor.id)
    elif problem == "expired":
        token = make_preview_token_issued_at(
            guide_id=guide.id, application_id=application.id, user_id=editor.id, seconds_ago=2 * 3600
        )
    elif problem == "forged":
        genuine = preview_token_make(guide_id=guide.id, application_id=application.id, user_id=editor.id)
        token = genuine[:-3] + ("AAA" if not genuine.endswith("AAA") else "BBB")
    else:
        token = "not-a-token"
    response = get_content(client, application, preview=token)
    assert response.status_code == 403
    assert "preview" in response.json()["detail"].lower()


def test_content__preview_of_deleted_guide__404(client, application, editor):
    guide = make_guide(application)
    token = preview_token_make(guide_id=guide.id, application_id=application.id, user_id=editor.id)
    guide.delete()
    assert get_content(client, application, preview=token).status_code == 404


# --- configuration cache and queries ----------------------------------------------------------

def test_content__guide_published_then_unpublished__next_request_sees_it(client, application):
    guide = make_guide(application, Guide.Kind.BAR)
    assert guide_ids(get_content(client, application)) == []
    guide_publish(guide=guide)
    assert guide_ids(get_content(client, application)) == [guide.id]
    guide_unpublish(guide=guide)
    assert guide_ids(get_content(client, application)) == []


def test_content__known_user_warm_cache__one_query(client, application, django_assert_max_num_queries):
    segment = make_segment(application, rule={"all": [
        {"trait": "role", "op": "eq", "value": "admin"},
        {"event": "report_viewed", "within_days": 7},
        {"distinct_events": ["a", "b"], "min_count": 1, "within_days": 14},
    ]})
    make_live_guide(application, Guide.Kind.CHECKLIST)
    make_live_guide(application, Guide.Kind.TOUR, segment=segment)
    make_live_guide(application, Guide.Kind.BAR, stages=["activation"])
    user = make_known_user(application, traits={"role": "admin"}, account=make_account_with_traits(application),
                           stage="activation")
    make_guide_state(user, Guide.objects.filter(kind=Guide.Kind.BAR).get(), seen_count=1)
    first = get_content(client, application)  # looks the key up and builds the configuration
    assert len(first.json()["guides"]) == 2
    # The version, user, account, counters, guide states and checklist completions: one query.
    with django_assert_max_num_queries(1):
        again = get_content(client, application)
    assert again.json() == first.json()


def test_content__unknown_user_warm_cache__one_query(client, application, django_assert_max_num_queries):
    make_live_guide(application)
    get_content(client, application)
    with django_assert_max_num_queries(1):
        assert len(guide_ids(get_content(client, application, user_id="stranger"))) == 1


def test_content__version_unchanged__second_request_does_not_rebuild(
    client, application, django_assert_max_num_queries
):
    make_live_guide(application)
    make_segment(application)
    # Cold: the key, the visitor query, the configuration (application, guides, segments, stages,
    # manual guides) and the experiments' plans.
    with django_assert_max_num_queries(9) as cold:
        get_content(client, application)
    with django_assert_max_num_queries(1) as warm:
        get_content(client, application)
    rebuild_tables = ("onboarding_guideversion", "onboarding_segment", "onboarding_journeystage")
    assert not any(table in query["sql"] for query in warm.captured_queries for table in rebuild_tables)
    assert any(table in query["sql"] for query in cold.captured_queries for table in rebuild_tables)
