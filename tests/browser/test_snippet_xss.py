"""Hostile PM content never runs in the customer's page: tours, bars, checklists and surveys in Chromium.

Every payload, if it ran, would call ``xss(n)`` (a function the page defines), open a dialog, or
fetch something from ``xss.invalid``; the test records all three. The payloads go into every
text, rich-text, label and URL field, are published through the real services and drawn by the
real snippet; the controls prove the detector sees each kind of side effect when one happens.
"""
import pytest
from playwright.sync_api import expect

from onboarding.models import BarButton, ChecklistItem
from tests.browser.helpers import (  # noqa: F401  (fixtures)
    BAR, CHECKLIST_LAUNCHER, CHECKLIST_PANEL, SURVEY, TOOLTIP, delivery, queue_empty, snippet,
)
from tests.factories import make_live_bar, make_live_checklist, make_live_survey, make_live_tour

PAYLOADS = [
    "<script>xss(1)</script>",
    "<img src=//xss.invalid/2 onerror=xss(2)>",
    "<svg onload=xss(3)>",
    "<svg><script>xss(4)</script></svg>",
    '<a href="javascript:xss(5)">link 5</a>',
    "<iframe srcdoc=\"<script>parent.xss(6)</script>\"></iframe>",
    '<div style="background:url(javascript:xss(7))">css url 7</div>',
    '<p style="width:expression(xss(8))">css expression 8</p>',
    "&lt;script&gt;xss(9)&lt;/script&gt;",
    "%3Cscript%3Exss(10)%3C%2Fscript%3E",
    "\\u003cimg src=x onerror=xss(11)\\u003e",
    "\uff1cscript\uff1exss(12)\uff1c/script\uff1e",
    '<a href="jav&#x09;ascript:xss(13)">link 13</a>',
    '<a href="&#106;avascript:xss(14)">link 14</a>',
    "<math><mtext><table><mglyph><style><img src=//xss.invalid/15 onerror=xss(15)>",
    "<details open ontoggle=xss(16)>details 16</details>",
    "<input autofocus onfocus=xss(17)>",
    '"><img src=//xss.invalid/18 onerror=xss(18)>',
    '<object data="javascript:xss(19)"></object><embed src="javascript:xss(19)">',
    "<style>@import '//xss.invalid/20.css';</style><link rel=stylesheet href=//xss.invalid/20b.css>",
    '<a href="data:text/html,&lt;script&gt;parent.xss(21)&lt;/script&gt;">link 21</a>',
    '<noscript><p title="</noscript><img src=//xss.invalid/22 onerror=xss(22)>">',
    '<form action="javascript:xss(23)"><button>submit 23</button></form>',
    '<meta http-equiv="refresh" content="0;url=javascript:xss(24)">',
    "<template><img src=//xss.invalid/25 onerror=xss(25)></template>",
    '<a href="  JaVaScRiPt:xss(26)">link 26</a>',
    "<body onload=xss(27)>",
    "javascript:xss(28)",
    "<scr<script>ipt>xss(29)</scr</script>ipt>",
    "<img src=//xss.invalid/30>",
]
URLS = ["javascript:xss(31)", " JavaScript:xss(32)", "data:text/html,<script>parent.xss(33)</script>",
        "vbscript:xss(34)", "java\tscript:xss(35)"]
DETECTOR = """
window.__xssHits = [];
window.xss = (tag) => { window.__xssHits.push(String(tag)); };
"""
HOST_BODY = '<main><h1 id="target">Dashboard</h1><p id="second">Reports</p></main>'


class Detector:
    """What the payloads would do if they ran: calls of ``xss``, dialogs, requests to xss.invalid."""

    def __init__(self, page):
        self.page = page
        self.dialogs: list[str] = []
        self.requests: list[str] = []
        page.add_init_script(DETECTOR)
        page.on("dialog", self._on_dialog)
        page.route("**/*", self._on_request)

    def _on_dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def _on_request(self, route):
        if "xss.invalid" in route.request.url:
            self.requests.append(route.request.url)
            route.abort()
        else:
            route.fallback()

    def hits(self) -> list[str]:
        return self.page.evaluate("window.__xssHits")

    def barrier(self) -> None:
        """Run a deliberate side effect of each kind outside the snippet and wait until it is seen.

        Image errors, network requests and dialogs are delivered in order, so once the control's
        are in, any the payloads had caused before would be in too; nothing waits on a timer.
        """
        self.page.evaluate("""() => {
            document.body.insertAdjacentHTML('beforeend', '<img src="//xss.invalid/control" onerror="xss(\\'control\\')">');
            setTimeout(() => alert('control'), 0);
        }""")
        self.page.wait_for_function("window.__xssHits.includes('control')")
        if "control" not in self.dialogs:
            self.page.wait_for_event("dialog")
        assert "control" in self.dialogs and any(url.endswith("/control") for url in self.requests)

    def assert_nothing_ran(self, application) -> None:
        self.barrier()
        queue_empty(self.page, application)  # and the snippet's events are answered before the test ends
        assert self.hits() == ["control"]
        assert self.dialogs == ["control"]
        assert [url for url in self.requests if not url.endswith("/control")] == []
        assert not self.page.url.startswith(("javascript:", "data:"))


@pytest.fixture
def detector(page):
    return Detector(page)


def assert_links_safe(locator) -> None:
    """Every link drawn goes to an http(s) or mailto address, whatever the payload's href was, and a
    link whose unsafe href the sanitiser removed has none (not the page's own address)."""
    hrefs = locator.locator("a[href]").evaluate_all("links => links.map((a) => a.href)")
    assert all(href.startswith(("http://", "https://", "mailto:")) for href in hrefs), hrefs
    assert locator.page.url not in hrefs


def test_xss__positive_control__detector_sees_call_dialog_and_request(page, snippet, detector):
    with page.expect_response(lambda r: "/api/v1/content" in r.url):
        page.goto(snippet.host_page(page, HOST_BODY))
    queue_empty(page, snippet.app)  # nothing of the snippet's still being served when the test ends
    page.evaluate("xss('direct')")
    assert detector.hits() == ["direct"]
    detector.barrier()  # its own assertions: the injected img, request and alert were all seen
    assert detector.hits() == ["direct", "control"]


def test_xss__tour_steps__payloads_shown_as_text_and_never_run(page, snippet, detector):
    steps = [{"selector": "#target", "title": payload[:160], "body": " ".join(PAYLOADS)} for payload in PAYLOADS]
    make_live_tour(snippet.app, steps)
    page.goto(snippet.host_page(page, HOST_BODY))
    tooltip = page.locator(TOOLTIP)
    for index, payload in enumerate(PAYLOADS):
        expect(tooltip).to_contain_text(payload[:160])  # the title, literally, as text
        assert_links_safe(tooltip)
        tooltip.get_by_role("button", name="Done" if index == len(PAYLOADS) - 1 else "Next").click()
    expect(tooltip).to_have_count(0)
    detector.assert_nothing_ran(snippet.app)


def test_xss__bar_message_and_buttons__javascript_urls_never_followed(page, snippet, detector):
    make_live_bar(snippet.app, " ".join(PAYLOADS), [
        {"label": PAYLOADS[1][:60], "action": BarButton.Action.URL, "url": URLS[0]},
        {"label": PAYLOADS[0][:60], "action": BarButton.Action.URL, "url": URLS[2]},
    ])
    page.goto(snippet.host_page(page, HOST_BODY))
    bar = page.locator(BAR)
    expect(bar).to_contain_text("<script>xss(9)</script>")  # entity-encoded markup is shown as text
    assert_links_safe(bar)
    bar.get_by_role("button", name=PAYLOADS[1][:60]).click()
    detector.assert_nothing_ran(snippet.app)
    expect(page.locator("#target")).to_have_text("Dashboard")  # still on the host page


def test_xss__checklist_items__titles_descriptions_and_cta_urls_never_run(page, snippet, detector):
    items = [
        {"title": payload[:160], "description": payload, "completion_event": f"never_{index}",
         "cta_label": payload[:60], "cta_action": ChecklistItem.CtaAction.URL, "cta_url": URLS[index % len(URLS)]}
        for index, payload in enumerate(PAYLOADS)
    ]
    make_live_checklist(snippet.app, items, checklist_title=PAYLOADS[0])
    page.goto(snippet.host_page(page, HOST_BODY))
    launcher = page.locator(CHECKLIST_LAUNCHER)
    expect(launcher).to_contain_text(PAYLOADS[0])
    launcher.click()
    panel = page.locator(CHECKLIST_PANEL)
    expect(panel.locator(".wl-item")).to_have_count(len(PAYLOADS))
    assert_links_safe(panel)
    for index in range(len(URLS)):  # one CTA per hostile URL
        panel.get_by_role("button", name=PAYLOADS[index][:60], exact=True).click()
    detector.assert_nothing_ran(snippet.app)
    expect(page.locator("#target")).to_have_text("Dashboard")


def test_xss__survey_question_and_follow_up__shown_as_text_and_never_run(page, snippet, detector):
    make_live_survey(snippet.app, " ".join(PAYLOADS[:6])[:300], survey_follow_up_question=PAYLOADS[1],
                     survey_thank_you=PAYLOADS[2])
    page.goto(snippet.host_page(page, HOST_BODY))
    dialog = page.locator(SURVEY)
    expect(dialog).to_contain_text(PAYLOADS[0])
    dialog.get_by_text("9", exact=True).click()
    dialog.get_by_label(PAYLOADS[1]).fill(PAYLOADS[3])
    dialog.get_by_role("button", name="Submit").click()
    expect(dialog).to_contain_text(PAYLOADS[2])
    detector.assert_nothing_ran(snippet.app)
