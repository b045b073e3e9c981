"""Checklists on the demo page: progress from tracked events, kept by the server across reloads."""
from playwright.sync_api import expect

from analytics.models import ChecklistItemCompletion
from tests.browser.helpers import (  # noqa: F401  (fixtures)
    CHECKLIST_LAUNCHER,
    CHECKLIST_PANEL,
    delivery,
    names_count,
    snippet,
    stored_events,
)
from tests.factories import make_live_checklist

ITEMS = [
    {"title": "Connect an integration", "completion_event": "integration_connected"},
    {"title": "Invite a teammate", "completion_event": "teammate_invited"},
]


def test_checklist__item_event_tracked__item_ticks_and_completion_stored_once(
    page, snippet, delivery, console
):
    checklist = make_live_checklist(snippet.app, ITEMS, checklist_title="Get set up")
    connect, invite = checklist.items.all()
    page.goto(snippet.demo())
    launcher = page.locator(CHECKLIST_LAUNCHER)
    expect(launcher).to_contain_text("Get set up")
    expect(launcher).to_contain_text("0/2")
    launcher.click()
    panel = page.locator(CHECKLIST_PANEL)
    expect(panel).to_be_visible()

    page.evaluate("wayline.track('integration_connected', {provider: 'slack'})")
    expect(launcher).to_contain_text("1/2")
    expect(panel.locator(".wl-item.wl-done")).to_have_count(1)
    expect(panel.locator(".wl-item.wl-done")).to_contain_text("Connect an integration (completed)")

    events = list(stored_events(page, snippet.app, delivery))
    assert names_count(events, "integration_connected", provider="slack") == 1
    assert names_count(events, "$checklist_item_completed", guide_id=checklist.id, item_id=connect.id) == 1
    assert names_count(events, "$guide_shown", guide_id=checklist.id, guide_type="checklist") == 1
    assert names_count(events, "$guide_completed", guide_id=checklist.id) == 0
    assert list(ChecklistItemCompletion.objects.values_list("item_id", flat=True)) == [connect.id]
    assert invite.completions.count() == 0
    assert console.errors == []


def test_checklist__reloaded_after_progress__server_state_shown(page, snippet, delivery, console):
    checklist = make_live_checklist(snippet.app, ITEMS)
    page.goto(snippet.demo())
    launcher = page.locator(CHECKLIST_LAUNCHER)
    expect(launcher).to_contain_text("0/2")
    page.locator("#invite-teammate").click()  # the demo app tracks teammate_invited
    expect(launcher).to_contain_text("1/2")
    stored_events(page, snippet.app, delivery, name="$checklist_item_completed")

    page.reload()
    expect(page.locator(CHECKLIST_LAUNCHER)).to_contain_text("1/2")
    page.locator(CHECKLIST_LAUNCHER).click()
    done = page.locator(CHECKLIST_PANEL).locator(".wl-item.wl-done")
    expect(done).to_have_count(1)
    expect(done).to_contain_text("Invite a teammate")
    page.locator("#connect-integration").click()
    expect(page.locator(CHECKLIST_LAUNCHER)).to_contain_text("2/2")

    events = list(stored_events(page, snippet.app, delivery, properties__guide_id=checklist.id))
    assert names_count(events, "$checklist_item_completed") == 2
    assert names_count(events, "$guide_completed", guide_type="checklist") == 1
    assert ChecklistItemCompletion.objects.filter(item__guide=checklist).count() == 2
    assert console.errors == []
