"""The builder's server side: the session check the loader makes, and the admin's builder links."""
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from onboarding.builder_tokens import BUILDER_TOKEN_SECONDS, builder_token_make, builder_token_read
from onboarding.models import Guide
from tests.factories import make_application, make_guide, make_known_user, make_staff_user
from tests.ingest_fixtures import _api_clean_slate  # noqa: F401  (fixture: fresh key caches)
from wayline.roles import EDITORS, VIEWERS

pytestmark = pytest.mark.django_db


@pytest.fixture
def application():
    return make_application("Acme")


@pytest.fixture
def editor():
    return make_staff_user("pm", group=EDITORS)


def session(client, application, token):
    return client.get(reverse("api-builder-session"), {"token": token},
                      HTTP_X_WAYLINE_KEY=application.publishable_key)


def token_for(application, user, **fields):
    return builder_token_make(application_id=application.id, user_id=user.pk, admin_origin="http://testserver",
                              **{"mode": "pick", "nonce": "n-1", **fields})


# --- GET /api/v1/builder/session ----------------------------------------------------------------

def test_builder_session__pick_token__mode_origin_and_bundle_without_end_user_data(client, application, editor):
    make_known_user(application, "end-user-1", traits={"email": "someone@acme.test"})

    response = session(client, application, token_for(application, editor))

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"mode", "nonce", "admin_origin", "bundle_url", "expires_at", "theme", "guide"}
    assert (body["mode"], body["nonce"], body["admin_origin"], body["guide"]) == ("pick", "n-1", "http://testserver", None)
    assert body["bundle_url"].endswith("/static/wayline/builder.js")
    assert "end-user-1" not in response.content.decode() and "someone@acme.test" not in response.content.decode()
    assert response["Cache-Control"] == "no-store"


def test_builder_session__preview_token__draft_steps_returned(client, application, editor):
    tour = make_guide(application, Guide.Kind.TOUR, name="Welcome")
    tour.steps.update(title="Draft title", selector="#draft")

    response = session(client, application, token_for(application, editor, mode="preview", guide_id=tour.pk))

    assert response.status_code == 200, response.content
    guide = response.json()["guide"]
    assert (guide["id"], guide["name"], guide["type"]) == (tour.pk, "Welcome", "tour")
    assert [(s["title"], s["selector"]) for s in guide["content"]["steps"]] == [("Draft title", "#draft")]


def test_builder_session__expired_token__403_saying_so(client, application, editor):
    token = builder_token_make(application_id=application.id, user_id=editor.pk, mode="pick",
                               admin_origin="http://testserver", now=0)

    response = session(client, application, token)

    assert response.status_code == 403
    assert "expired" in response.json()["detail"]


def test_builder_session__other_applications_token__403(client, application, editor):
    other = make_application("Other", allowed_origins=["https://other.test"])

    response = session(client, application, token_for(other, editor))

    assert response.status_code == 403
    assert "another application" in response.json()["detail"]


def test_builder_session__forged_token__403(client, application, editor):
    token = token_for(application, editor)

    response = session(client, application, token[:-3] + ("AAA" if not token.endswith("AAA") else "BBB"))

    assert response.status_code == 403


@pytest.mark.parametrize("change", [{"is_active": False}, {"is_staff": False}], ids=["deactivated", "not-staff"])
def test_builder_session__user_no_longer_staff__403(client, application, editor, change):
    token = token_for(application, editor)
    for field, value in change.items():
        setattr(editor, field, value)
    editor.save()

    assert session(client, application, token).status_code == 403


def test_builder_session__viewer_without_change_permission__403(client, application):
    viewer = make_staff_user("reader", group=VIEWERS)

    assert session(client, application, token_for(application, viewer)).status_code == 403


def test_builder_session__guide_deleted__404(client, application, editor):
    tour = make_guide(application, Guide.Kind.TOUR)
    token = token_for(application, editor, mode="preview", guide_id=tour.pk)
    tour.delete()

    assert session(client, application, token).status_code == 404


@pytest.mark.parametrize("params", [{}, {"token": "x" * 2001}], ids=["missing", "too-long"])
def test_builder_session__bad_token_parameter__400_naming_it(client, application, params):
    response = client.get(reverse("api-builder-session"), params, HTTP_X_WAYLINE_KEY=application.publishable_key)

    assert response.status_code == 400
    assert "token" in response.json()["errors"]


def test_builder_session__no_key__401(client, application, editor):
    response = client.get(reverse("api-builder-session"), {"token": token_for(application, editor)})

    assert response.status_code == 401


# --- POST admin …/builder/link/ -----------------------------------------------------------------

LINK = "admin:onboarding_tourguide_builder_link"


def test_builder_link__editor_pick__page_url_with_token_bound_to_user_and_application(client, application, editor):
    client.force_login(editor)

    response = client.post(reverse(LINK), {"mode": "pick", "url": "https://app.acme.test/settings?tab=2",
                                           "application": application.pk, "nonce": "abc"})

    assert response.status_code == 200, response.content
    url = response.json()["url"]
    parts = urlsplit(url)
    assert (parts.scheme, parts.netloc, parts.path) == ("https", "app.acme.test", "/settings")
    query = parse_qs(parts.query)
    assert query["tab"] == ["2"]
    grant = builder_token_read(query["wayline_builder"][0])
    assert (grant.application_id, grant.user_id, grant.mode, grant.nonce) == (application.pk, editor.pk, "pick", "abc")
    assert grant.admin_origin == "http://testserver"
    assert response.json()["origin"] == "https://app.acme.test"


def test_builder_link__page_already_has_a_token__replaced(client, application, editor):
    client.force_login(editor)

    response = client.post(reverse(LINK), {"mode": "pick", "url": "https://app.acme.test/?wayline_builder=old",
                                           "application": application.pk})

    assert parse_qs(urlsplit(response.json()["url"]).query)["wayline_builder"] != ["old"]
    assert len(parse_qs(urlsplit(response.json()["url"]).query)["wayline_builder"]) == 1


def test_builder_link__preview__token_names_the_guide(client, application, editor):
    client.force_login(editor)
    tour = make_guide(application, Guide.Kind.TOUR)

    response = client.post(reverse(LINK), {"mode": "preview", "url": "https://app.acme.test/",
                                           "application": application.pk, "guide": tour.pk})

    grant = builder_token_read(parse_qs(urlsplit(response.json()["url"]).query)["wayline_builder"][0])
    assert (grant.mode, grant.guide_id) == ("preview", tour.pk)
    assert grant.expires_at - BUILDER_TOKEN_SECONDS > 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"mode": "pick", "url": "javascript:alert(1)"}, "full address"),
        ({"mode": "pick", "url": ""}, "address of the page"),
        ({"mode": "pick", "url": "https://app.acme.test/", "application": ""}, "application"),
        ({"mode": "edit", "url": "https://app.acme.test/"}, "mode"),
        ({"mode": "preview", "url": "https://app.acme.test/"}, "Save the guide"),
    ],
    ids=["script-url", "no-url", "no-application", "unknown-mode", "preview-unsaved"],
)
def test_builder_link__bad_input__400_with_message(client, application, editor, data, message):
    client.force_login(editor)
    data = {"application": application.pk, **data}

    response = client.post(reverse(LINK), data)

    assert response.status_code == 400
    assert message in response.json()["error"]


def test_builder_link__guide_of_another_application__400(client, application, editor):
    client.force_login(editor)
    other_tour = make_guide(make_application("Other"), Guide.Kind.TOUR)

    response = client.post(reverse(LINK), {"mode": "preview", "url": "https://app.acme.test/",
                                           "application": application.pk, "guide": other_tour.pk})

    assert response.status_code == 400


def test_builder_link__viewer__403(client, application):
    client.force_login(make_staff_user("reader", group=VIEWERS))

    response = client.post(reverse(LINK), {"mode": "pick", "url": "https://app.acme.test/",
                                           "application": application.pk})

    assert response.status_code == 403


def test_builder_link__get__405(client, application, editor):
    client.force_login(editor)

    assert client.get(reverse(LINK)).status_code == 405


def test_guide_change_page__builder__config_script_and_popup_friendly_opener_policy(client, application, editor):
    client.force_login(editor)
    tour = make_guide(application, Guide.Kind.TOUR)

    response = client.get(reverse("admin:onboarding_tourguide_change", args=[tour.pk]))

    assert response.status_code == 200
    assert response["Cross-Origin-Opener-Policy"] == "same-origin-allow-popups"
    page = response.content.decode()
    assert 'id="wl-builder-config"' in page and "builder_admin.js" in page and 'id="wl-builder-url"' in page
    assert application.publishable_key in page  # the default page to pick on: the demo with this app


# --- POST /api/v1/builder/picks, and the admin polling for them ----------------------------------

PICK = {"selector": '[data-tour="connect"]', "label": "Connect", "strategy": "data-tour attribute", "fragility": "low"}


def store_pick(client, application, token, **pick):
    return client.post(reverse("api-builder-picks"), {"token": token, **PICK, **pick}, content_type="application/json",
                       HTTP_X_WAYLINE_KEY=application.publishable_key)


def test_builder_pick__stored_by_builder__handed_once_to_the_same_user_only(client, application, editor):
    assert store_pick(client, application, token_for(application, editor, nonce="n-7")).status_code == 201
    poll = reverse("admin:onboarding_tourguide_builder_pick", args=["n-7"])

    client.force_login(make_staff_user("other-pm", group=EDITORS))
    assert client.get(poll).json() == {"pick": None}
    client.force_login(editor)
    assert client.get(poll).json() == {"pick": PICK}
    assert client.get(poll).json() == {"pick": None}


@pytest.mark.parametrize(
    ("pick", "field"),
    [({"selector": ""}, "selector"), ({"selector": "x" * 501}, "selector"), ({"label": 5}, "label"),
     ({"fragility": "none"}, "fragility")],
    ids=["empty-selector", "selector-too-long", "label-not-text", "unknown-fragility"],
)
def test_builder_pick__bad_field__400_naming_it(client, application, editor, pick, field):
    response = store_pick(client, application, token_for(application, editor), **pick)

    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_builder_pick__preview_token__400(client, application, editor):
    tour = make_guide(application, Guide.Kind.TOUR)

    response = store_pick(client, application, token_for(application, editor, mode="preview", guide_id=tour.pk))

    assert response.status_code == 400
    assert "not for picking" in response.json()["detail"]


def test_builder_pick__expired_or_foreign_token__403_and_nothing_stored(client, application, editor):
    expired = builder_token_make(application_id=application.id, user_id=editor.pk, mode="pick",
                                 admin_origin="http://testserver", nonce="n-8", now=0)
    foreign = token_for(make_application("Other"), editor, nonce="n-8")

    assert store_pick(client, application, expired).status_code == 403
    assert store_pick(client, application, foreign).status_code == 403
    client.force_login(editor)
    assert client.get(reverse("admin:onboarding_tourguide_builder_pick", args=["n-8"])).json() == {"pick": None}


def test_builder_pick_poll__viewer__403(client):
    client.force_login(make_staff_user("reader", group=VIEWERS))

    assert client.get(reverse("admin:onboarding_tourguide_builder_pick", args=["n-1"])).status_code == 403
