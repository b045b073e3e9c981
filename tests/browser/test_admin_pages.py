"""The admin as a product manager meets it: real browser, real server, accessibility checked."""
import pytest

from onboarding.models import Guide
from tests.factories import make_application, make_guide, make_staff_user
from wayline.roles import EDITORS


@pytest.fixture
def editor_page(transactional_db, admin_login):
    make_staff_user("pm", group=EDITORS)
    return admin_login("pm", "pw-pm")


def test_rule_editor__typing_invalid_rule__live_error_shown(editor_page, live_server, console):
    application = make_application("Acme")
    editor_page.goto(f"{live_server.url}/admin/onboarding/segment/add/")
    editor_page.select_option("#id_application", str(application.pk))
    editor_page.fill("#id_rule", '{"trait": "plan", "op": "equals", "value": "pro"}')
    status = editor_page.locator(".wl-rule-status")
    status.get_by_text("unknown operator").wait_for()
    assert "rule.op" in status.inner_text()
    editor_page.fill("#id_rule", '{"trait": "plan", "op": "eq", "value": "pro"}')
    status.get_by_text("Valid").wait_for()
    assert console.errors == []


def test_guide_change_page__publish_button__guide_live(editor_page, live_server):
    application = make_application("Acme")
    guide = make_guide(application, Guide.Kind.TOUR, name="Welcome tour")
    editor_page.goto(f"{live_server.url}/admin/onboarding/tourguide/{guide.pk}/change/")
    editor_page.get_by_text("Publish the saved draft").wait_for()
    editor_page.get_by_text("Publish the saved draft").click()
    editor_page.get_by_text("Published Welcome tour as v1").wait_for()
    assert Guide.objects.get(pk=guide.pk).live_version.number == 1
