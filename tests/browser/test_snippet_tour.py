"""Tours on the demo page: drawn at their targets, followed on scroll, stepped, skipped, dismissed."""
import pytest
from playwright.sync_api import expect

from analytics.models import Event, GuideState
from onboarding.models import Guide
from tests.browser.helpers import (  # noqa: F401  (fixtures)
    TOOLTIP,
    delivery,
    names_count,
    snippet,
    stored_events,
    stored_when,
)
from tests.factories import make_live_tour

# Rectangles of a target and of the tooltip in the snippet's shadow root, once the tooltip is placed.
GEOMETRY = """selector => {
  const host = document.getElementById('wayline-root');
  const card = host && host.shadowRoot.querySelector('.wl-card[role=dialog]');
  if (!card || !card.style.top) return null;
  const r = (el) => { const b = el.getBoundingClientRect(); return {x: b.x, y: b.y, w: b.width, h: b.height}; };
  return {target: r(document.querySelector(selector)), tip: r(card)};
}"""
# True once the tooltip sits at the same offset from its target as before (it followed it).
FOLLOWED = f"""([selector, dx, dy]) => {{
  const g = ({GEOMETRY})(selector);
  return !!g && Math.abs(g.tip.x - g.target.x - dx) < 1 && Math.abs(g.tip.y - g.target.y - dy) < 1;
}}"""


def placed(page, selector: str) -> dict:
    return page.wait_for_function(GEOMETRY, arg=selector).json_value()


def test_tour__next_then_done__each_guide_event_stored_once(page, snippet, delivery, console):
    tour = make_live_tour(snippet.app, [
        {"selector": "#connect-integration", "title": "Connect your first integration", "body": "<p>Slack</p>"},
        {"selector": "#invite-teammate", "title": "Invite a teammate"},
    ])
    page.goto(snippet.demo())
    tooltip = page.locator(TOOLTIP)
    expect(tooltip).to_contain_text("Connect your first integration")
    expect(tooltip).to_contain_text("Step 1 of 2")
    tooltip.get_by_role("button", name="Next").click()
    expect(tooltip).to_contain_text("Invite a teammate")
    tooltip.get_by_role("button", name="Done").click()
    expect(tooltip).to_have_count(0)

    events = list(stored_events(page, snippet.app, delivery, properties__guide_id=tour.id))
    assert names_count(events, "$guide_shown", guide_type="tour", guide_version=1) == 1
    assert names_count(events, "$guide_step_viewed", step_index=0) == 1
    assert names_count(events, "$guide_step_viewed", step_index=1) == 1
    assert names_count(events, "$guide_completed", guide_type="tour") == 1
    assert len(events) == 4
    state = GuideState.objects.get(guide=tour, user__external_id="user-1")
    assert (state.seen_count, state.completed_at is not None, state.dismissed_at) == (1, True, None)
    assert console.errors == []


def test_tour__page_scrolls__tooltip_follows_target(page, snippet, console):
    make_live_tour(snippet.app, [{"selector": "#customize-widget", "title": "Make it yours", "placement": "bottom"}])
    page.goto(snippet.demo())
    before = placed(page, "#customize-widget")

    page.evaluate("window.scrollBy(0, 120)")
    offset = [before["tip"]["x"] - before["target"]["x"], before["tip"]["y"] - before["target"]["y"]]
    page.wait_for_function(FOLLOWED, arg=["#customize-widget", *offset])

    after = placed(page, "#customize-widget")
    assert after["target"]["y"] == pytest.approx(before["target"]["y"] - 120, abs=1)  # the page did scroll
    assert after["tip"]["y"] == pytest.approx(before["tip"]["y"] - 120, abs=1)
    assert after["tip"]["y"] >= after["target"]["y"] + after["target"]["h"]  # still below its target
    assert console.errors == []


def test_tour__container_scrolls__tooltip_follows_target(page, snippet, console):
    make_live_tour(snippet.app, [{"selector": "#assign-conversation", "title": "Take it", "placement": "top"}])
    page.goto(snippet.demo())
    before = placed(page, "#assign-conversation")
    scroller = page.locator("#conversation-list")
    list_box = scroller.bounding_box()
    # The step scrolled its target into view inside the scroller.
    assert list_box["y"] <= before["target"]["y"] <= list_box["y"] + list_box["height"]

    scroller.evaluate("el => { el.scrollTop += 60; }")
    offset = [before["tip"]["x"] - before["target"]["x"], before["tip"]["y"] - before["target"]["y"]]
    page.wait_for_function(FOLLOWED, arg=["#assign-conversation", *offset])

    after = placed(page, "#assign-conversation")
    assert after["target"]["y"] == pytest.approx(before["target"]["y"] - 60, abs=1)  # the container did scroll
    assert after["tip"]["y"] == pytest.approx(before["tip"]["y"] - 60, abs=1)
    assert console.errors == []


def test_tour__missing_target_with_skip__next_step_shown_and_failure_stored(page, snippet, delivery, console):
    tour = make_live_tour(snippet.app, [
        {"selector": "#no-such-button", "title": "Never drawn", "wait_timeout_ms": 300},
        {"selector": "#connect-integration", "title": "Connect"},
    ], on_missing_target=Guide.MissingTarget.SKIP)
    page.goto(snippet.demo())
    tooltip = page.locator(TOOLTIP)
    expect(tooltip).to_contain_text("Step 2 of 2")
    expect(tooltip).not_to_contain_text("Never drawn")

    events = list(stored_events(page, snippet.app, delivery, properties__guide_id=tour.id))
    assert names_count(events, "$guide_render_failed", selector="#no-such-button", step_index=0,
                       reason="target_not_found") == 1
    assert names_count(events, "$guide_step_viewed", step_index=1) == 1
    assert names_count(events, "$guide_step_viewed", step_index=0) == 0
    assert GuideState.objects.get(guide=tour).render_failed_count == 1
    assert console.errors == []


def test_tour__missing_target_with_stop__tour_ends_and_failure_stored(page, snippet, delivery, console):
    tour = make_live_tour(snippet.app, [
        {"selector": "#no-such-button", "title": "Never drawn", "wait_timeout_ms": 300},
        {"selector": "#connect-integration", "title": "Connect"},
    ], on_missing_target=Guide.MissingTarget.STOP)
    page.goto(snippet.demo())

    failed = stored_when(page, delivery, lambda: list(
        Event.objects.filter(name="$guide_render_failed", properties__guide_id=tour.id)))
    assert [e.properties["selector"] for e in failed] == ["#no-such-button"]
    # Skipping would have drawn step 2 at once (its target is there) — long before the flush.
    expect(page.locator(TOOLTIP)).to_have_count(0)
    assert not stored_events(page, snippet.app, delivery, name="$guide_shown").exists()
    assert console.errors == []


def test_tour__dismissed__not_returned_after_reload(page, snippet, delivery, console):
    tour = make_live_tour(snippet.app, [{"selector": "#connect-integration", "title": "Connect"}])
    page.goto(snippet.demo())
    page.locator(TOOLTIP).get_by_role("button", name="Close tour").click()
    expect(page.locator(TOOLTIP)).to_have_count(0)
    dismissed = stored_events(page, snippet.app, delivery, name="$guide_dismissed", properties__guide_id=tour.id)
    assert [e.properties.get("step_index") for e in dismissed] == [0]
    assert GuideState.objects.get(guide=tour, user__external_id="user-1").dismissed_at is not None

    with page.expect_response(lambda r: "/api/v1/content" in r.url) as answer:
        page.reload()
    assert [g["id"] for g in answer.value.json()["guides"]] == []
    expect(page.locator(TOOLTIP)).to_have_count(0)
    assert console.errors == []


@pytest.mark.parametrize(("step_modal", "shaded"), [(False, 0), (True, 1)], ids=["plain-step", "modal-step"])
def test_tour__step_modal_flag__page_dimmed_only_for_modal_steps(page, snippet, console, step_modal, shaded):
    make_live_tour(snippet.app, [{"selector": "#connect-integration", "title": "Connect", "modal": step_modal}])
    page.goto(snippet.demo())
    tooltip = page.locator(TOOLTIP)
    tooltip.wait_for()
    expect(page.locator("#wayline-root .wl-spot")).to_have_count(shaded)
    assert tooltip.get_attribute("aria-modal") == ("true" if step_modal else None)
    assert console.errors == []
