"""Preview: the admin's preview link shows the guide's draft on the demo page and records nothing."""
import re

from playwright.sync_api import expect

from analytics.models import Event, GuideState
from tests.browser.helpers import PREVIEW_BADGE, TOOLTIP, delivery, snippet  # noqa: F401  (fixtures)
from tests.factories import make_live_tour, make_staff_user
from wayline.roles import EDITORS


def test_preview__admin_preview_link__draft_shown_with_badge_and_nothing_recorded(
    snippet, admin_login, settings, console
):
    settings.WAYLINE_PUBLIC_URL = snippet.url  # where preview links send the browser
    make_staff_user("pm", group=EDITORS)
    tour = make_live_tour(snippet.app, [{"selector": "#connect-integration", "title": "Live wording"},
                                        {"selector": "#invite-teammate", "title": "Second step"}])
    step = tour.steps.first()
    step.title = "Draft wording"  # edited after publishing: only the draft says this
    step.save()
    page = admin_login("pm", "pw-pm")
    sent = []
    page.on("request", lambda request: "/api/v1/events" in request.url and sent.append(request.url))

    page.goto(f"{snippet.url}/admin/onboarding/tourguide/{tour.pk}/preview/")
    page.wait_for_url(re.compile(r"/demo/\?app=wl_pk_[^&]+&wayline_preview=[^&]+$"))
    tooltip = page.locator(TOOLTIP)
    expect(tooltip).to_contain_text("Draft wording")
    expect(page.locator(PREVIEW_BADGE)).to_have_text("Preview")
    tooltip.get_by_role("button", name="Next").click()
    tooltip.get_by_role("button", name="Done").click()
    expect(tooltip).to_have_count(0)
    page.locator("nav.sidebar a[data-section=settings]").click()  # a page view, in preview too
    expect(page.locator("#page-title")).to_have_text("Settings")

    # Events are queued in localStorage the moment they happen: in preview there is no queue at all.
    assert page.evaluate("Object.keys(localStorage).filter((k) => k.includes('_q.'))") == []
    assert sent == []
    assert not Event.objects.exists()
    assert not GuideState.objects.exists()
    assert console.errors == []
