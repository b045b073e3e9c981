import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.urls import reverse

from onboarding.models import Application, Guide, JourneyStage, Segment
from onboarding.preview import preview_token_read
from onboarding.services import guide_publish
from tests.factories import make_guide, make_segment

GUIDE_ADMINS = [
    ("tourguide", Guide.Kind.TOUR),
    ("checklistguide", Guide.Kind.CHECKLIST),
    ("barguide", Guide.Kind.BAR),
    ("surveyguide", Guide.Kind.SURVEY),
]


@pytest.fixture
def content(application):
    segment = make_segment(application)
    guides = {model: make_guide(application, kind) for model, kind in GUIDE_ADMINS}
    return {"application": application, "segment": segment, **guides}


def admin_pages(content):
    pages = [("onboarding", "application", content["application"].pk), ("onboarding", "segment", content["segment"].pk)]
    pages += [("onboarding", model, content[model].pk) for model, _ in GUIDE_ADMINS]
    return pages


def test_admin__every_page_as_editor__renders(editor_client, content):
    for app, model, pk in admin_pages(content):
        for url in (
            reverse(f"admin:{app}_{model}_changelist"),
            reverse(f"admin:{app}_{model}_add"),
            reverse(f"admin:{app}_{model}_change", args=[pk]),
        ):
            response = editor_client.get(url)
            assert response.status_code == 200, url


def test_admin__index_as_viewer__lists_models_read_only(viewer_client, content):
    response = viewer_client.get(reverse("admin:onboarding_tourguide_change", args=[content["tourguide"].pk]))
    assert response.status_code == 200
    assert b'name="_save"' not in response.content
    assert viewer_client.get(reverse("admin:onboarding_tourguide_add")).status_code == 403


def test_admin__viewer_posts_change__refused_and_unchanged(viewer_client, content):
    guide = content["barguide"]
    url = reverse("admin:onboarding_barguide_change", args=[guide.pk])
    response = viewer_client.post(url, {"name": "Hijacked", "application": guide.application_id})
    assert response.status_code == 403
    assert Guide.objects.get(pk=guide.pk).name == guide.name


def test_admin__viewer_publishes__refused_and_not_live(viewer_client, content):
    guide = content["tourguide"]
    response = viewer_client.post(reverse("admin:onboarding_tourguide_publish", args=[guide.pk]))
    assert response.status_code == 403
    assert Guide.objects.get(pk=guide.pk).live_version is None
    changelist = reverse("admin:onboarding_tourguide_changelist")
    viewer_client.post(changelist, {"action": "publish_selected", "_selected_action": [guide.pk]})
    assert Guide.objects.get(pk=guide.pk).live_version is None


def test_admin__editor_publishes_from_change_page__live(editor_client, content):
    guide = content["tourguide"]
    response = editor_client.post(reverse("admin:onboarding_tourguide_publish", args=[guide.pk]))
    assert response.status_code == 302
    assert Guide.objects.get(pk=guide.pk).live_version.number == 1


def test_admin__editor_publish_action_incomplete_guide__message_not_500(editor_client, content):
    guide = Guide.objects.create(application=content["application"], kind=Guide.Kind.TOUR, name="No steps")
    response = editor_client.post(
        reverse("admin:onboarding_tourguide_changelist"),
        {"action": "publish_selected", "_selected_action": [guide.pk]},
        follow=True,
    )
    assert response.status_code == 200
    assert "needs at least one step" in response.content.decode()


@pytest.mark.parametrize(
    "action", ["unpublish_selected", "archive_selected", "duplicate_selected"], ids=["unpublish", "archive", "duplicate"]
)
def test_admin__editor_bulk_actions__applied(editor_client, content, action):
    guide = content["barguide"]
    guide_publish(guide=guide)
    editor_client.post(
        reverse("admin:onboarding_barguide_changelist"), {"action": action, "_selected_action": [guide.pk]}
    )
    guide.refresh_from_db()
    if action == "duplicate_selected":
        assert Guide.objects.filter(name=f"Copy of {guide.name}", kind=Guide.Kind.BAR).count() == 1
    else:
        assert guide.live_version is None
        assert (guide.archived_at is not None) == (action == "archive_selected")


def segment_form(application, rule_text):
    return {"application": application.pk, "name": "Big", "slug": "big", "description": "", "rule": rule_text}


@pytest.mark.parametrize(
    ("rule_text", "message"),
    [
        ('{"trait": "size", "op": "equals", "value": 3}', "rule.op: unknown operator"),
        ('{"trait": "size", "op": "eq", ', "Not valid JSON at line 1"),
        ('{"stage": "nirvana", "op": "current"}', "nirvana"),
        ("", "This field is required"),
    ],
    ids=["unknown-operator", "broken-json", "unknown-stage", "empty"],
)
def test_admin__segment_with_invalid_rule__form_error_not_500(editor_client, application, rule_text, message):
    response = editor_client.post(reverse("admin:onboarding_segment_add"), segment_form(application, rule_text))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Segment.objects.filter(slug="big").exists()


def test_admin__segment_with_valid_rule__saved(editor_client, application):
    rule = {"all": [{"account_trait": "size", "op": "gte", "value": 11}, {"stage": "activation", "op": "reached"}]}
    response = editor_client.post(reverse("admin:onboarding_segment_add"), segment_form(application, json.dumps(rule)))
    assert response.status_code == 302
    assert Segment.objects.get(slug="big").rule == rule


def test_admin__rule_validate_endpoint__located_errors_and_description(editor_client, db):
    url = reverse("admin:onboarding_rule_validate")
    bad = editor_client.post(url, '{"any": [{"trait": "a", "op": "eq", "value": 1}, {"trait": "b", "op": "nope"}]}', content_type="application/json").json()
    good = editor_client.post(url, '{"trait": "plan", "op": "eq", "value": "pro"}', content_type="application/json").json()
    broken = editor_client.post(url, "{", content_type="application/json").json()
    assert not bad["valid"] and bad["errors"][0].startswith("rule.any[1].op")
    assert good["valid"] and "plan" in good["description"]
    assert not broken["valid"] and "Not valid JSON" in broken["errors"][0]


def test_admin__application_added__journey_seeded_with_origins(editor_client, db):
    response = editor_client.post(
        reverse("admin:onboarding_application_add"),
        {
            "name": "Shop", "default_locale": "en", "allowed_origins": "https://shop.test/\nhttp://localhost:3000",
            "primary_color": "#112233", "text_color": "#111111", "background_color": "#ffffff",
            "font_family": "system-ui", "border_radius": 8, "throttle_per_hour": 2, "throttle_per_day": 5,
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    application = Application.objects.get(name="Shop")
    assert application.allowed_origins == ["http://localhost:3000", "https://shop.test"]
    assert JourneyStage.objects.filter(application=application).count() == 7


def test_admin__application_with_bad_origin__form_error(editor_client, db):
    response = editor_client.post(
        reverse("admin:onboarding_application_add"),
        {"name": "Shop", "default_locale": "en", "allowed_origins": "shop.test/path", "primary_color": "#112233",
         "text_color": "#111111", "background_color": "#ffffff", "font_family": "x", "border_radius": 8,
         "throttle_per_hour": 2, "throttle_per_day": 5},
    )
    assert response.status_code == 200
    assert "is not an origin" in response.content.decode()


def test_admin__application_as_viewer__secrets_masked(viewer_client, application):
    page = viewer_client.get(reverse("admin:onboarding_application_change", args=[application.pk])).content.decode()
    assert application.publishable_key in page
    assert application.secret_key not in page and application.identity_secret not in page


def test_admin__application_as_editor__secrets_and_install_tag_shown(editor_client, application):
    page = editor_client.get(reverse("admin:onboarding_application_change", args=[application.pk])).content.decode()
    assert application.secret_key in page and application.identity_secret in page
    assert "Install tag" in page


def test_admin__published_view__shows_live_json_and_diff(editor_client, content):
    guide = content["surveyguide"]
    guide_publish(guide=guide)
    Guide.objects.filter(pk=guide.pk).update(survey_question="Changed question?")
    page = editor_client.get(reverse("admin:onboarding_surveyguide_published", args=[guide.pk])).content.decode()
    assert "How likely are you to recommend us?" in page
    assert "Changed question?" in page and "wl-add" in page


def test_admin__preview_link__redirects_to_demo_with_valid_token(editor_client, editor, content):
    guide = content["barguide"]
    response = editor_client.get(reverse("admin:onboarding_barguide_preview", args=[guide.pk]))
    assert response.status_code == 302 and "/demo/?" in response["Location"]
    token = parse_qs(urlsplit(response["Location"]).query)["wayline_preview"][0]
    grant = preview_token_read(token)
    assert (grant.guide_id, grant.application_id, grant.user_id) == (guide.pk, guide.application_id, editor.pk)


def test_admin__guide_with_foreign_stage__form_error(editor_client, content, db):
    from tests.factories import make_application

    other = make_application("Other")
    guide = content["barguide"]
    response = editor_client.post(
        reverse("admin:onboarding_barguide_change", args=[guide.pk]),
        {
            "application": guide.application_id, "name": guide.name, "description": "",
            "bar_message": "<p>x</p>", "bar_position": "top", "bar_style": "info", "dismissible": "on",
            "stages": [other.stages.first().pk], "device": "any", "trigger": "page_load", "frequency": "once",
            "priority": 0, "on_missing_target": "skip", "survey_kind": "nps",
            "buttons-TOTAL_FORMS": 0, "buttons-INITIAL_FORMS": 0, "url_rules-TOTAL_FORMS": 0, "url_rules-INITIAL_FORMS": 0,
        },
    )
    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode() or "another application" in response.content.decode()


def test_anonymous__admin__redirected_to_login(client, db):
    response = client.get(reverse("admin:onboarding_tourguide_changelist"))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
