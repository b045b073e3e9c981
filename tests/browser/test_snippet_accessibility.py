"""Accessibility of what the snippet draws: axe-core on each guide type, and tours by keyboard only."""
import pytest
from playwright.sync_api import expect

from onboarding.models import BarButton, Guide
from tests.browser.conftest import axe_violations
from tests.browser.helpers import (  # noqa: F401  (fixtures)
    BAR,
    CHECKLIST_LAUNCHER,
    CHECKLIST_PANEL,
    SURVEY,
    TOOLTIP,
    delivery,
    names_count,
    snippet,
    stored_events,
)
from tests.factories import make_live_bar, make_live_checklist, make_live_survey, make_live_tour

# What has the keyboard focus, looking through shadow roots: its accessible name, roughly
# (aria-label, else the element aria-labelledby names, else its id, else its text).
FOCUSED = """() => {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  if (!a) return null;
  const by = a.getAttribute('aria-labelledby');
  const label = by && a.getRootNode().getElementById(by);
  return a.getAttribute('aria-label') || (label && label.textContent) || a.id || a.textContent.trim();
}"""


def _tour(app):
    make_live_tour(app, [{"selector": "#connect-integration", "title": "Connect", "body": "<p>Pick <b>Slack</b></p>"},
                         {"selector": "#invite-teammate", "title": "Invite", "modal": True}])
    return TOOLTIP, None


def _checklist(app):
    make_live_checklist(app, [{"title": "Connect an integration", "completion_event": "integration_connected",
                               "description": "<p>Two clicks</p>", "cta_label": "Connect",
                               "cta_action": "url", "cta_url": "https://app.acme.test/integrations"}])
    return CHECKLIST_PANEL, CHECKLIST_LAUNCHER


def _bar(app):
    make_live_bar(app, "<p>Try the <a href='https://acme.test/inbox'>shared inbox</a></p>", [
        {"label": "Open it", "action": BarButton.Action.URL, "url": "https://acme.test/inbox"},
        {"label": "Later", "action": BarButton.Action.DISMISS}])
    return BAR, None


def _survey(app):
    make_live_survey(app, "How likely are you to recommend us?", survey_follow_up_question="Why?")
    return SURVEY, None


@pytest.mark.parametrize("make", [_tour, _checklist, _bar, _survey], ids=["tour", "checklist", "bar", "survey"])
def test_accessibility__guide_drawn__no_serious_axe_violation(page, snippet, console, make):
    drawn, opener = make(snippet.app)
    page.goto(snippet.demo())
    if opener:
        page.locator(opener).click()
    page.locator(drawn).wait_for()
    if drawn == SURVEY:
        page.locator(SURVEY).get_by_text("8", exact=True).click()  # shows the follow-up question too
    # The snippet's shadow root is open, so axe walks into it from the host.
    assert page.evaluate("document.getElementById('wayline-root').shadowRoot !== null")
    assert axe_violations(page, "#wayline-root") == []
    assert console.errors == []


def test_keyboard__tour_by_tab_and_enter__completed_and_focus_returned(page, snippet, delivery, console):
    tour = make_live_tour(snippet.app, [
        {"selector": "#connect-integration", "title": "Connect"},
        {"selector": "#customize-widget", "title": "Customise", "modal": True},
    ], trigger=Guide.Trigger.EVENT, trigger_event="teammate_invited")
    with page.expect_response(lambda r: "/api/v1/content" in r.url):  # the guides are known
        page.goto(snippet.demo())
    page.locator("#invite-teammate").focus()
    page.keyboard.press("Enter")  # the demo app tracks teammate_invited: the tour starts
    tooltip = page.locator(TOOLTIP)
    expect(tooltip).to_contain_text("Connect")
    assert page.evaluate(FOCUSED) == "Connect"  # focus moved into the step (its heading labels it)

    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "Close tour"
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "Next"
    page.keyboard.press("Enter")
    expect(tooltip).to_contain_text("Step 2 of 2")
    # A modal step traps Tab: close, Back, Done, and round again.
    visited = []
    for _ in range(4):
        page.keyboard.press("Tab")
        visited.append(page.evaluate(FOCUSED))
    assert visited == ["Close tour", "Back", "Done", "Close tour"]
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == "Done"
    page.keyboard.press("Enter")
    expect(tooltip).to_have_count(0)
    assert page.evaluate(FOCUSED) == "invite-teammate"  # focus is back where it was

    events = list(stored_events(page, snippet.app, delivery, properties__guide_id=tour.id))
    assert names_count(events, "$guide_completed") == 1
    assert console.errors == []


def test_keyboard__escape_on_tour__dismissed_and_focus_returned(page, snippet, delivery, console):
    tour = make_live_tour(snippet.app, [{"selector": "#connect-integration", "title": "Connect"}],
                          trigger=Guide.Trigger.EVENT, trigger_event="teammate_invited")
    with page.expect_response(lambda r: "/api/v1/content" in r.url):  # the guides are known
        page.goto(snippet.demo())
    page.locator("#invite-teammate").focus()
    page.keyboard.press("Enter")
    expect(page.locator(TOOLTIP)).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.locator(TOOLTIP)).to_have_count(0)
    assert page.evaluate(FOCUSED) == "invite-teammate"

    events = list(stored_events(page, snippet.app, delivery, properties__guide_id=tour.id))
    assert names_count(events, "$guide_dismissed", step_index=0) == 1
    assert console.errors == []
