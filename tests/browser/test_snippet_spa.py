"""Single-page navigation: a route change is a page view and a new decision that swaps guides."""
from urllib.parse import urlsplit

from playwright.sync_api import expect

from tests.browser.helpers import TOOLTIP, delivery, names_count, snippet, stored_events  # noqa: F401  (fixtures)
from tests.factories import make_live_tour


def test_spa__sidebar_link_to_settings__dashboard_guide_removed_settings_guide_shown(page, snippet, delivery, console):
    dashboard = make_live_tour(snippet.app, [{"selector": "#connect-integration", "title": "Your dashboard"}],
                               url_rules=[("/demo/dashboard/", "prefix")], name="Dashboard tour")
    settings_tour = make_live_tour(snippet.app, [{"selector": "#save-settings", "title": "Save your settings"}],
                                   url_rules=[("/demo/settings/", "prefix")], name="Settings tour")
    page.goto(snippet.demo("dashboard"))
    tooltip = page.locator(TOOLTIP)
    expect(tooltip).to_contain_text("Your dashboard")
    dashboard_url = page.url

    page.locator("nav.sidebar a[data-section=settings]").click()
    expect(page.locator("#page-title")).to_have_text("Settings")
    expect(tooltip).to_contain_text("Save your settings")
    expect(tooltip).to_have_count(1)
    assert urlsplit(page.url).path == "/demo/settings/"

    events = list(stored_events(page, snippet.app, delivery))
    assert names_count(events, "$pageview", path="/demo/settings/", referrer=dashboard_url) == 1
    assert names_count(events, "$pageview") == 2
    assert names_count(events, "$guide_shown", guide_id=dashboard.id) == 1
    assert names_count(events, "$guide_shown", guide_id=settings_tour.id) == 1
    # Left behind by the route change, not dismissed by the user.
    assert names_count(events, "$guide_dismissed") == 0
    assert console.errors == []
