"""Event delivery from a real page: product events tracked offline arrive once the network is back."""
from playwright.sync_api import expect

from analytics.models import Event
from tests.browser.helpers import delivery, names_count, snippet, stored_events  # noqa: F401  (fixtures)

NETWORK_DOWN = "net::ERR_INTERNET_DISCONNECTED"
UNSENT = """key => Object.keys(localStorage).filter((k) => k.startsWith(`wl_${key}_q.`))
  .flatMap((k) => JSON.parse(localStorage.getItem(k)).e).map((e) => [e.id, e.name])"""


def _is_events_post(request) -> bool:
    return request.method == "POST" and "/api/v1/events" in request.url


def test_events__clicks_while_offline__each_event_stored_once_back_online(page, snippet, delivery, console):
    with page.expect_response(lambda r: "/api/v1/content" in r.url):
        page.goto(snippet.demo())
    stored_events(page, snippet.app, delivery)  # the page view is in: start from an empty queue
    page.context.set_offline(True)

    with page.expect_event("requestfailed", predicate=_is_events_post):
        page.locator("#connect-integration").click()
        page.locator("#invite-teammate").click()
        page.locator("#customize-widget").click()
    unsent = page.evaluate(UNSENT, snippet.app.publishable_key)
    assert sorted(name for _, name in unsent) == ["integration_connected", "teammate_invited", "widget_customized"]
    expect(page.locator("#page-title")).to_have_text("Dashboard")  # the page carries on

    page.context.set_offline(False)  # "online": the snippet retries at once
    events = list(stored_events(page, snippet.app, delivery))
    assert sorted(str(e.id) for e in events if e.name != "$pageview") == sorted(event_id for event_id, _ in unsent)
    for name in ("integration_connected", "teammate_invited", "widget_customized"):
        assert names_count(events, name) == 1
    assert Event.objects.filter(name="integration_connected", properties__provider="slack").count() == 1
    assert [e for e in console.errors if NETWORK_DOWN not in e] == []
