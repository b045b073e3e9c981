"""A host page whose CSS attacks everything still gets working guides (shadow root, inline !important)."""
from playwright.sync_api import expect

from onboarding.models import BarButton
from tests.browser.helpers import BAR, TOOLTIP, delivery, names_count, snippet, stored_events  # noqa: F401
from tests.factories import make_live_bar, make_live_tour

HOSTILE_CSS = """<style>
  * { all: unset !important; }
  div, section, header, nav, main, p, h2 { display: none !important; }
  body > *, button, [id], [class] { position: relative !important; z-index: 2147483647 !important; }
  [role=dialog], [role=region] { display: none !important; visibility: hidden !important; }
</style>"""
# The computed style of an element inside the snippet's shadow root.
SHADOW_STYLE = """([selector, property]) => getComputedStyle(
  document.getElementById('wayline-root').shadowRoot.querySelector(selector))[property]"""


def _with_hostile_css(route):
    response = route.fetch()
    route.fulfill(response=response, body=response.text().replace("</head>", HOSTILE_CSS + "</head>", 1))


def test_hostile_css__generic_rules_everywhere__tooltip_and_bar_drawn_and_clickable(page, snippet, delivery, console):
    # Everything of the demo page is hidden but the chat button, which stays as bare text.
    tour = make_live_tour(snippet.app, [{"selector": "#chat-widget", "title": "Chat with customers"},
                                        {"selector": "#chat-widget", "title": "Reply from here"}])
    bar = make_live_bar(snippet.app, "<p>New: shared inbox</p>",
                        [{"label": "Got it", "action": BarButton.Action.DISMISS}])
    url = snippet.demo()
    page.route(url, _with_hostile_css)
    page.goto(url)
    assert page.evaluate("getComputedStyle(document.querySelector('main')).display") == "none"  # the CSS is live

    tooltip = page.locator(TOOLTIP)
    expect(tooltip).to_contain_text("Chat with customers")
    card = tooltip.bounding_box()
    assert card["width"] > 150 and card["height"] > 60
    assert 0 <= card["x"] and card["x"] + card["width"] <= page.viewport_size["width"]
    assert page.evaluate(SHADOW_STYLE, [".wl-card", "fontSize"]) == "14px"
    assert page.evaluate("getComputedStyle(document.getElementById('wayline-root')).zIndex") == "2147483647"
    tooltip.get_by_role("button", name="Next").click()
    expect(tooltip).to_contain_text("Reply from here")
    tooltip.get_by_role("button", name="Done").click()
    expect(tooltip).to_have_count(0)

    shown_bar = page.locator(BAR)
    expect(shown_bar).to_contain_text("New: shared inbox")
    assert shown_bar.bounding_box()["width"] == page.viewport_size["width"]
    shown_bar.get_by_role("button", name="Got it").click()
    expect(shown_bar).to_have_count(0)

    events = list(stored_events(page, snippet.app, delivery))
    assert names_count(events, "$guide_completed", guide_id=tour.id) == 1
    assert names_count(events, "$cta_clicked", guide_id=bar.id, label="Got it", action="dismiss") == 1
    assert names_count(events, "$guide_dismissed", guide_id=bar.id) == 1
    assert console.errors == []
