"""Event delivery from a real page: product events tracked offline arrive once the network is back."""
import json

from playwright.sync_api import expect

from analytics.ingest.validation import user_hash
from analytics.models import Event
from onboarding.install_tag import install_tag
from tests.browser.helpers import BAR, delivery, names_count, snippet, stored_events  # noqa: F401  (fixtures)
from tests.factories import make_live_bar

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


def test_events__identity_verification_on__hash_from_identify_carried_on_content_and_events(
    page, snippet, delivery, console
):
    # Given an application that requires identity verification and a bar live for everyone
    snippet.app.require_identity_verification = True
    snippet.app.save(update_fields=["require_identity_verification"])
    bar = make_live_bar(snippet.app, "<p>Verified users only</p>", [])
    proof = user_hash(snippet.app.identity_secret, "user-42")
    url = f"{snippet.url}/fixture/verified"
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title>'
        '<link rel="icon" href="data:,"></head><body><button id="go">Go</button>'
        f"{install_tag(application=snippet.app, api_host=snippet.url)}"
        f"<script>wayline.identify('user-42', {{}}, {{userHash: {json.dumps(proof)}}});"
        "document.getElementById('go').onclick = () => wayline.track('report_viewed');</script></body></html>"
    )
    page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))

    # When the page identifies with the hash the customer's backend computed, and the user acts
    with page.expect_response(lambda r: "/api/v1/content" in r.url) as answer:
        page.goto(url)
    expect(page.locator(BAR)).to_contain_text("Verified users only")
    page.locator("#go").click()

    # Then the decision was answered for that user, and every event of theirs was accepted and stored
    assert answer.value.status == 200
    events = list(stored_events(page, snippet.app, delivery, user__external_id="user-42"))
    assert names_count(events, "report_viewed") == 1
    assert names_count(events, "$guide_shown", guide_id=bar.id) == 1
    assert Event.objects.filter(application=snippet.app).exclude(user__external_id="user-42").count() == 0
    assert console.errors == []
