"""Admin access control: viewers change nothing anywhere, anonymous users go to the login page, CSRF holds.

Every model admin registered on the site is covered, with every URL it has — add, change,
delete, history, its custom views (publish, preview, recompute, rule validation…) and every
action a superuser would see — so a model or view added later is checked without a new test.
"""
import re
from datetime import timedelta

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from analytics.privacy import end_user_erase
from tests.factories import (
    make_experiment,
    make_live_bar,
    make_live_checklist,
    make_live_survey,
    make_live_tour,
    make_segment,
    make_staff_user,
    make_user_with_history,
)

WAYLINE_APPS = ("onboarding", "analytics", "experiments")
CONVERTER = re.compile(r"<(?:\w+:)?(\w+)>")


@pytest.fixture
def objects(application):
    """One object of (nearly) every admin-registered model, with the relations their pages need."""
    at = timezone.now() - timedelta(days=1)
    make_live_tour(application, [{"selector": "#go", "title": "Go"}])
    make_live_checklist(application, [{"title": "Connect", "completion_event": "integration_connected"}])
    make_live_bar(application, "<p>News</p>")
    make_live_survey(application, "How likely are you to recommend us?")
    make_segment(application)
    experiment = make_experiment(application, start=True)
    make_user_with_history(application, "alice", at=at, experiment=experiment)
    make_user_with_history(application, "gone", at=at)
    end_user_erase(application=application, external_id="gone", by="dpo")
    return application


def database_state() -> dict:
    """Every row of every Wayline model and of users and groups, as comparable values."""
    models = [m for m in apps.get_models() if m._meta.app_label in WAYLINE_APPS]
    models += [apps.get_model("auth", "User"), apps.get_model("auth", "Group")]
    return {
        model._meta.label: sorted(map(repr, model._base_manager.values_list()))
        for model in models
        if model._meta.managed
    }


def admin_urls() -> list[tuple[type, str, object]]:
    """(model, URL, object or None) for every URL of every registered model admin."""
    urls = []
    for model, model_admin in admin.site._registry.items():
        obj = model._default_manager.order_by("pk").first()
        for pattern in model_admin.get_urls():
            route = str(pattern.pattern).lstrip("^").rstrip("$")
            if CONVERTER.search(route) and obj is None:
                continue
            path = CONVERTER.sub(lambda _: str(obj.pk), route)
            if "(" in path:  # a regular-expression redirect of the admin's own, no view
                continue
            urls.append((model, f"/admin/{model._meta.app_label}/{model._meta.model_name}/{path}", obj))
    return urls


def superuser_actions(model_admin, superuser) -> list[str]:
    request = RequestFactory().get("/")
    request.user = superuser
    return list(model_admin.get_actions(request))


def test_admin__viewer_posts_to_every_url_and_action__nothing_changes(viewer_client, objects):
    urls = admin_urls()
    registered = {model for model, _, _ in urls}
    assert {model._meta.label for model in registered} >= {
        "onboarding.Application", "onboarding.TourGuide", "experiments.Experiment", "analytics.EndUser",
    }
    root = make_staff_user("root", superuser=True)
    actions = {model: superuser_actions(admin.site._registry[model], root) for model in registered}
    before = database_state()

    statuses = {}
    for model, url, obj in urls:
        response = viewer_client.post(url, {"name": "changed by a viewer", "confirm": "yes", "apply": "1",
                                            "post": "yes"})
        statuses[url] = response.status_code
    for model, names in actions.items():
        obj = model._default_manager.order_by("pk").first()
        if obj is None:
            continue
        changelist = reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")
        for name in names:
            response = viewer_client.post(changelist, {"action": name, ACTION_CHECKBOX_NAME: [obj.pk],
                                                       "confirm": "yes", "apply": "1", "post": "yes"})
            statuses[f"{changelist} action={name}"] = response.status_code

    assert database_state() == before
    assert not [url for url, status in statuses.items() if status >= 500]
    assert statuses[reverse("admin:onboarding_application_add")] == 403
    assert any("erase_selected" in key for key in statuses)  # the erase action was among those tried


def test_admin__viewer_get_change_page__read_only_without_save_or_erase(viewer_client, objects):
    alice = apps.get_model("analytics", "EndUser").objects.get(external_id="alice")
    page = viewer_client.get(reverse("admin:analytics_enduser_changelist")).content.decode()
    assert "erase_selected" not in page and "export_selected" not in page
    change = viewer_client.get(reverse("admin:analytics_enduser_change", args=[alice.pk])).content.decode()
    assert 'name="_save"' not in change
    assert "alice@example.test" not in change  # traits stay out of the admin pages


def test_admin__editor_erase_action__confirm_then_erased_and_audited(editor_client, objects):
    EndUser = apps.get_model("analytics", "EndUser")
    alice = EndUser.objects.get(external_id="alice")
    changelist = reverse("admin:analytics_enduser_changelist")
    form = {"action": "erase_selected", ACTION_CHECKBOX_NAME: [alice.pk]}

    confirmation = editor_client.post(changelist, form)
    assert confirmation.status_code == 200 and b"cannot be undone" in confirmation.content
    assert EndUser.objects.filter(pk=alice.pk).exists()

    done = editor_client.post(changelist, {**form, "confirm": "yes"})
    assert done.status_code == 302
    assert not EndUser.objects.filter(pk=alice.pk).exists()
    erasure = apps.get_model("analytics", "EndUserErasure").objects.get(end_user_pk=alice.pk)
    assert (erasure.requested_by, erasure.via) == ("editor", "admin")


def test_admin__editor_export_action__json_attachment_of_the_user(editor_client, objects):
    alice = apps.get_model("analytics", "EndUser").objects.get(external_id="alice")
    response = editor_client.post(reverse("admin:analytics_enduser_changelist"),
                                  {"action": "export_selected", ACTION_CHECKBOX_NAME: [alice.pk]})
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    [export] = response.json()
    assert export["user"]["traits"] == {"email": "alice@example.test"}


def test_admin__anonymous_every_url__redirected_to_login(client, objects):
    for _, url, _ in admin_urls():
        for method in (client.get, client.post):
            response = method(url)
            assert response.status_code == 302, (method.__name__, url, response.status_code)
            assert response["Location"].startswith("/admin/login/"), url


@pytest.mark.parametrize(
    "url_name", ["admin:onboarding_application_add", "admin:analytics_enduser_changelist", "admin:logout"],
    ids=["add-application", "erase-action", "logout"],
)
def test_admin__post_without_csrf_token__403_and_nothing_changes(editor, objects, url_name):
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    alice = apps.get_model("analytics", "EndUser").objects.get(external_id="alice")
    before = database_state()
    response = client.post(reverse(url_name), {"name": "Forged", "action": "erase_selected",
                                               ACTION_CHECKBOX_NAME: [alice.pk], "confirm": "yes"})
    assert response.status_code == 403
    assert b"CSRF" in response.content
    assert database_state() == before


def test_admin__post_with_csrf_token__accepted(editor, objects):
    # The control for the test above: the same client, with the token, gets through.
    client = Client(enforce_csrf_checks=True)
    client.force_login(editor)
    alice = apps.get_model("analytics", "EndUser").objects.get(external_id="alice")
    client.get(reverse("admin:analytics_enduser_changelist"))
    response = client.post(reverse("admin:analytics_enduser_changelist"),
                           {"action": "export_selected", ACTION_CHECKBOX_NAME: [alice.pk],
                            "csrfmiddlewaretoken": client.cookies["csrftoken"].value})
    assert response.status_code == 200
    assert response.json()[0]["user"]["user_id"] == "alice"
