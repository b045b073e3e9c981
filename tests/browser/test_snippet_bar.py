"""Notification bars on the demo page: drawn, pushing the page, buttons reported, dismissal kept."""
from playwright.sync_api import expect

from analytics.models import GuideState
from onboarding.install_tag import install_tag
from onboarding.models import BarButton, Guide
from tests.browser.helpers import BAR, delivery, names_count, snippet, stored_events  # noqa: F401
from tests.factories import make_live_bar


def test_bar__url_button_clicked__click_reported_once_and_bar_completed(page, snippet, delivery, console):
    target = snippet.demo("integrations")
    bar = make_live_bar(snippet.app, "<p>Connect <b>Slack</b> in one click</p>", [
        {"label": "Connect now", "action": BarButton.Action.URL, "url": target},
        {"label": "Later", "action": BarButton.Action.DISMISS},
    ], url_rules=[("/demo/dashboard/", "prefix")])
    page.goto(snippet.demo())
    shown = page.locator(BAR)
    expect(shown).to_contain_text("Connect Slack in one click")
    bar_height = shown.bounding_box()["height"]
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).paddingTop)") == round(bar_height)

    shown.get_by_role("button", name="Connect now").click()
    page.wait_for_url(target)  # the events of the page left behind go by sendBeacon
    expect(page.locator("#page-title")).to_have_text("Integrations")
    events = list(stored_events(page, snippet.app, delivery, properties__guide_id=bar.id))
    assert names_count(events, "$cta_clicked", label="Connect now", action="url", button_index=0,
                       guide_type="bar") == 1
    assert names_count(events, "$guide_completed", guide_type="bar") == 1
    assert names_count(events, "$guide_shown") == 1
    assert GuideState.objects.get(guide=bar).completed_at is not None

    with page.expect_response(lambda r: "/api/v1/content" in r.url) as answer:
        page.goto(snippet.demo())  # back where the bar was: completed, so no longer returned
    assert answer.value.json()["guides"] == []
    expect(page.locator(BAR)).to_have_count(0)
    assert console.errors == []


def test_bar__dismissed__page_padding_restored_and_dismissal_stored(page, snippet, delivery, console):
    bar = make_live_bar(snippet.app, "<p>Scheduled maintenance on Sunday</p>", bar_position="bottom")
    page.goto(snippet.demo())
    shown = page.locator(BAR)
    expect(shown).to_be_visible()
    assert page.evaluate("parseFloat(getComputedStyle(document.documentElement).paddingBottom)") > 0
    assert shown.bounding_box()["y"] + shown.bounding_box()["height"] == page.viewport_size["height"]

    shown.get_by_role("button", name="Dismiss").click()
    expect(shown).to_have_count(0)
    assert page.evaluate("getComputedStyle(document.documentElement).paddingBottom") == "0px"
    events = list(stored_events(page, snippet.app, delivery, properties__guide_id=bar.id))
    assert names_count(events, "$guide_dismissed", guide_type="bar") == 1
    assert names_count(events, "$cta_clicked") == 0
    assert GuideState.objects.get(guide=bar).dismissed_at is not None
    assert console.errors == []


def test_bar__trigger_event_tracked_before_content_answer__bar_shown(page, snippet, delivery, console):
    # Given a bar triggered by an event the host page tracks as soon as it loads
    make_live_bar(snippet.app, "<p>Welcome aboard</p>", trigger=Guide.Trigger.EVENT, trigger_event="signup_completed")
    url = f"{snippet.url}/fixture/signed-up"
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title>'
        '<link rel="icon" href="data:,"></head><body>'
        f"{install_tag(application=snippet.app, api_host=snippet.url)}"
        "<script>wayline.identify('user-1'); wayline.track('signup_completed');</script></body></html>"
    )
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    # When the page loads (the event is tracked before the snippet knows any guide)
    page.goto(url)
    # Then the bar the event triggers is shown once the guides arrive
    expect(page.locator(BAR)).to_contain_text("Welcome aboard")
    assert console.errors == []


def test_bar__trigger_event_never_tracked__bar_not_shown(page, snippet, delivery, console):
    make_live_bar(snippet.app, "<p>Welcome aboard</p>", trigger=Guide.Trigger.EVENT, trigger_event="signup_completed")
    with page.expect_response(lambda r: "/api/v1/content" in r.url) as answer:
        page.goto(snippet.demo())
    assert len(answer.value.json()["guides"]) == 1  # offered, but waiting for its event
    page.locator("#connect-integration").click()  # another event
    stored_events(page, snippet.app, delivery)
    expect(page.locator(BAR)).to_have_count(0)
