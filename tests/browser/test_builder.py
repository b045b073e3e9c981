"""The visual builder in Chromium: pick on the demo page into the admin form, stable selectors on a
page built to tempt bad ones, keyboard picking, draft preview with warnings, refused tokens."""
import re

import pytest
from playwright.sync_api import expect

from onboarding.builder import builder_link_make
from onboarding.builder_tokens import builder_token_make
from onboarding.install_tag import install_tag
from onboarding.models import Guide, TourStep
from tests.browser.conftest import axe_violations
from tests.browser.helpers import delivery, snippet  # noqa: F401  (fixtures)
from tests.factories import make_application, make_guide, make_staff_user
from wayline.roles import EDITORS

PANEL = "#wayline-builder .wl-bpanel"
SELECTOR_INPUT = f"{PANEL} input"
STATUS = f"{PANEL} [role=status]"

# Hashed CSS-module / CSS-in-JS classes and generated ids around a few stable hooks.
TEMPTING_BODY = """
<div class="css-1x2y3z Layout_root__a8Kd2" id="app-4f9a2c1e">
  <header class="sc-bdVaJa kPqRst">
    <button id="btn-7f3e9a1c" class="sc-htpNat Button_primary__3kH9a" data-testid="save-draft">Save draft</button>
    <button id=":r7:" class="css-9zz8aa Button_icon__x1Y2z" aria-label="Delete draft">🗑</button>
  </header>
  <nav class="sc-kPqRst Nav_root__Zz9Yy">
    <a class="sc-kPqRst Nav_link__x9Yb2 nav-billing" href="#">Billing</a>
    <a class="sc-kPqRst Nav_link__x9Yb2 nav-home" href="#">Home</a>
  </nav>
  <ul id="plans">
    <li><span class="css-aa11bb">Starter</span></li>
    <li><span class="css-aa11bb">Growth</span></li>
  </ul>
</div>
"""


@pytest.fixture
def editor(snippet, settings):
    settings.WAYLINE_PUBLIC_URL = snippet.url
    return make_staff_user("pm", group=EDITORS)


def tempting_page(page, snippet, editor) -> str:
    """The tempting page on the live server's origin, opened with a pick link for ``editor``."""
    url = builder_link_make(page_url=f"{snippet.url}/fixture/tempting", application=snippet.app, user=editor,
                            mode="pick", admin_origin=snippet.url)
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Tempting</title>'
        f'<link rel="icon" href="data:,"></head><body>{TEMPTING_BODY}'
        f'{install_tag(application=snippet.app, api_host=snippet.url)}</body></html>'
    )
    page.route(re.compile(r".*/fixture/tempting\?.*"),
               lambda route: route.fulfill(status=200, content_type="text/html", body=html))
    page.goto(url)
    expect(page.locator(PANEL)).to_contain_text("Pick an element")
    return url


def only_match(page, selector: str, target: str) -> bool:
    """Whether ``selector`` matches exactly the element ``target`` (a Playwright CSS selector) does."""
    return page.evaluate(
        "([sel, target]) => { const all = document.querySelectorAll(sel);"
        " return all.length === 1 && all[0] === document.querySelector(target); }",
        [selector, target],
    )


def pick_on_page(admin, field_id: str, target: str, expected: str, label: str):
    """Press "Pick on page" next to ``field_id``, click ``target`` in the popup, send it back."""
    with admin.expect_popup() as popup:
        admin.locator(f"#{field_id} ~ button.wl-pick").click()
    host = popup.value
    expect(host.locator(PANEL)).to_contain_text("Pick an element")
    host.hover(target)
    expect(host.locator("#wayline-builder .wl-bx .wl-tag")).to_have_text(f"button{target}")
    host.click(target)
    expect(host.locator(SELECTOR_INPUT)).to_have_value(expected)
    expect(host.locator(STATUS)).to_have_text("Matches exactly this element.")
    expect(host.locator(f"{PANEL} [data-fragility]")).to_have_text("low fragility")
    assert only_match(host, expected, target)
    with host.expect_event("close"):  # the builder closes its window once the admin has the selector
        host.get_by_role("button", name="Use this selector").click()
    expect(admin.locator(f"#{field_id}")).to_have_value(expected)
    expect(admin.locator(f"#{field_id} ~ .wl-picked")).to_contain_text(f"Picked “{label}” (data-tour attribute")


def test_builder__three_step_tour_on_demo_page__built_without_typing_a_selector_and_previewed(
    snippet, editor, admin_login, console
):
    # Given a saved tour without steps
    tour = Guide.objects.create(application=snippet.app, kind=Guide.Kind.TOUR, name="Welcome")
    admin = admin_login("pm", "pw-pm")
    admin.goto(f"{snippet.url}/admin/onboarding/tourguide/{tour.pk}/change/")
    admin.fill("#wl-builder-url", snippet.demo())

    # When the PM adds three steps and picks each target on the demo page
    targets = [("#connect-integration", "Connect integration"), ("#customize-widget", "Customise widget"),
               ("#chat-widget", "Open chat")]
    for index, (target, label) in enumerate(targets):
        admin.get_by_role("button", name="Add another Tour step").click()
        admin.fill(f"#id_steps-{index}-order", str(index + 1))
        admin.fill(f"#id_steps-{index}-title", f"Step about {label}")
        pick_on_page(admin, f"id_steps-{index}-selector", target, f'[data-tour="{target[1:]}"]', label)
    admin.locator("input[name=_continue]").click()

    # Then the steps are saved with the stable selectors
    expect(admin.locator(".messagelist")).to_contain_text("was changed successfully")
    assert list(TourStep.objects.filter(guide=tour).values_list("selector", "selector_label")) == [
        (f'[data-tour="{target[1:]}"]', label) for target, label in targets]

    # And the preview plays the three of them on the demo page
    with admin.expect_popup() as popup:
        admin.get_by_role("link", name="Preview on page").click()
    host = popup.value
    for index, (target, label) in enumerate(targets):
        expect(host.locator(f"{PANEL} .wl-n")).to_have_text(f"Step {index + 1} of 3")
        expect(host.locator(STATUS)).to_have_text(f"Step {index + 1}: target found.")
        expect(host.locator("#wayline-builder .wl-card[role=dialog]")).to_have_text(f"Step about {label}")
        if index < 2:
            host.get_by_role("button", name="Next").click()
    assert console.errors == []


def test_builder_pick__page_cuts_off_its_opener__pick_reaches_admin_by_polling(snippet, editor, admin_login, console):
    # Given a page sent with COOP same-origin (Django's default): the popup loses window.opener
    tour = make_guide(snippet.app, Guide.Kind.TOUR, name="Welcome")
    html = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Strict</title>'
        f'<link rel="icon" href="data:,"></head><body>{TEMPTING_BODY}'
        f'{install_tag(application=snippet.app, api_host=snippet.url)}</body></html>'
    )
    admin = admin_login("pm", "pw-pm")
    admin.context.route(re.compile(r".*/fixture/strict\?.*"), lambda route: route.fulfill(
        status=200, content_type="text/html", body=html, headers={"Cross-Origin-Opener-Policy": "same-origin"}))
    admin.goto(f"{snippet.url}/admin/onboarding/tourguide/{tour.pk}/change/")
    admin.fill("#wl-builder-url", f"{snippet.url}/fixture/strict")

    # When the PM picks there
    with admin.expect_popup() as popup:
        admin.locator("#id_steps-0-selector ~ button.wl-pick").click()
    host = popup.value
    expect(host.locator(PANEL)).to_contain_text("Pick an element")
    assert host.evaluate("window.opener") is None
    host.click("#btn-7f3e9a1c")
    host.get_by_role("button", name="Use this selector").click()

    # Then the selector still lands in the admin form, through the server
    expect(admin.locator("#id_steps-0-selector")).to_have_value('[data-testid="save-draft"]')
    expect(admin.locator("#id_steps-0-selector ~ .wl-picked")).to_contain_text("Picked “Save draft”")
    assert console.errors == []


@pytest.mark.parametrize(
    ("target", "expected", "fragility"),
    [
        ("#btn-7f3e9a1c", '[data-testid="save-draft"]', "low"),
        ("[id=':r7:']", 'button[aria-label="Delete draft"]', "medium"),
        ("a.nav-billing", "a.nav-billing", "medium"),
        ("#plans li:nth-child(2) span", "#plans > li:nth-of-type(2) > span", "high"),
    ],
    ids=["test-attribute", "aria-label-not-generated-id", "stable-class-not-hashed", "structural-fallback"],
)
def test_builder_pick__tempting_page__stable_selector_not_hashed_class_or_generated_id(
    snippet, editor, page, target, expected, fragility
):
    tempting_page(page, snippet, editor)

    page.click(target)

    expect(page.locator(SELECTOR_INPUT)).to_have_value(expected)
    expect(page.locator(f"{PANEL} [data-fragility]")).to_have_text(f"{fragility} fragility")
    assert not re.search(r"css-|sc-|__|btn-7f3e|:r7:", expected)
    assert only_match(page, expected, target)


def test_builder_pick__keyboard_and_live_edit__parent_child_counts_and_escape(snippet, editor, page):
    tempting_page(page, snippet, editor)
    box = page.locator(PANEL).bounding_box()  # the pointer comes over the panel: it moves aside
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    expect(page.locator(PANEL)).to_have_class(re.compile(r"\bwl-flip\b"))
    page.hover("#plans li:nth-child(2) span")

    page.keyboard.press("ArrowUp")  # the span's parent, the second li
    page.keyboard.press("Enter")
    expect(page.locator(SELECTOR_INPUT)).to_have_value("#plans > li:nth-of-type(2)")
    page.keyboard.press("ArrowDown")  # back to its child
    expect(page.locator(SELECTOR_INPUT)).to_have_value("#plans > li:nth-of-type(2) > span")

    field = page.locator(SELECTOR_INPUT)
    use = page.get_by_role("button", name="Use this selector")
    for typed, status in [(".css-aa11bb", "Matches 2 elements: a step needs exactly one."),
                          ("#nothing-here", "Matches no element on this page."),
                          ("li[[", "Not a valid CSS selector."),
                          ("#plans li + li span", "Matches exactly this element.")]:
        field.fill(typed)
        expect(page.locator(STATUS)).to_have_text(status)
        expect(use).to_be_enabled() if status.startswith("Matches exactly") else expect(use).to_be_disabled()
    expect(page.locator(f"{PANEL} .wl-hint").first).to_have_text("Strategy: edited by hand")
    assert axe_violations(page, "#wayline-builder") == []

    page.keyboard.press("Escape")  # from the selection back to picking
    expect(page.locator(PANEL)).to_contain_text("Pick an element")
    page.keyboard.press("Escape")  # and out
    expect(page.locator(PANEL)).to_have_text("Picking cancelled. You can close this tab.")
    page.click("#btn-7f3e9a1c")  # clicks reach the page again, and select nothing
    expect(page.locator(SELECTOR_INPUT)).to_have_count(0)


def test_builder_preview__three_step_draft__plays_with_toolbar_and_flags_missing_and_ambiguous_targets(
    snippet, editor, admin_login, console
):
    tour = Guide.objects.create(application=snippet.app, kind=Guide.Kind.TOUR, name="Getting started")
    for order, (selector, title) in enumerate(
        [('[data-tour="connect-integration"]', "Connect first"), ("#gone-after-redesign", "Missing one"),
         (".btn.secondary", "Ambiguous one")], start=1,
    ):
        TourStep.objects.create(guide=tour, order=order, selector=selector, title=title, body="<p>Body</p>",
                                wait_timeout_ms=300)
    admin = admin_login("pm", "pw-pm")
    sent = []
    admin.context.on("request", lambda r: ("/api/v1/events" in r.url or "wayline.js" in r.url) and sent.append(r.url))
    admin.goto(f"{snippet.url}/admin/onboarding/tourguide/{tour.pk}/change/")
    admin.fill("#wl-builder-url", snippet.demo())

    with admin.expect_popup() as popup:
        admin.get_by_role("link", name="Preview on page").click()
    host = popup.value
    card = host.locator("#wayline-builder .wl-card[role=dialog]")
    status = host.locator(STATUS)
    expect(card).to_contain_text("Connect first")
    expect(host.locator(f"{PANEL} .wl-n")).to_have_text("Step 1 of 3")
    expect(status).to_have_text("Step 1: target found.")
    expect(host.get_by_role("button", name="Back")).to_be_disabled()

    host.get_by_role("button", name="Next").click()
    expect(status).to_have_text("Step 2: target “#gone-after-redesign” not found on this page.")
    expect(card).to_contain_text("Missing one")
    host.get_by_role("button", name="Next").click()
    expect(status).to_contain_text("Step 3: target “.btn.secondary” matches 3 elements")
    expect(host.get_by_role("button", name="Next")).to_be_disabled()
    assert axe_violations(host, "#wayline-builder") == []
    host.get_by_role("button", name="Back").click()
    expect(host.locator(f"{PANEL} .wl-n")).to_have_text("Step 2 of 3")
    host.get_by_role("button", name="Restart").click()
    expect(card).to_contain_text("Connect first")
    host.get_by_role("button", name="Exit").click()
    expect(host.locator("#wayline-builder")).to_have_count(0)
    expect(admin.locator(".wl-builder-status")).to_have_text("Preview closed.")
    assert sent == []  # the end-user bundle never loaded; nothing was recorded
    assert console.errors == []


OPENER_PAGE = "<!doctype html><title>Opener</title><script>window.got = []; addEventListener('message', (e) => got.push(e.data));</script>"


@pytest.mark.parametrize("which", ["expired", "other-application", "forged"])
def test_builder_token__expired_foreign_or_forged__refused_and_builder_never_loaded(snippet, editor, page, which):
    other = make_application("Other", allowed_origins=[snippet.url])
    token = builder_token_make(
        application_id=(other if which == "other-application" else snippet.app).id, user_id=editor.pk, mode="pick",
        admin_origin=snippet.url, **({"now": 0} if which == "expired" else {}),
    )
    if which == "forged":
        token = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    requested = []
    page.context.on("request", lambda r: requested.append(r.url))
    page.route(f"{snippet.url}/fixture/opener", lambda route: route.fulfill(content_type="text/html", body=OPENER_PAGE))
    page.goto(f"{snippet.url}/fixture/opener")

    with page.expect_popup() as popup:
        page.evaluate("url => window.open(url, 'wayline-builder')", snippet.demo(wayline_builder=token))
    host = popup.value
    page.wait_for_function("() => got.length > 0")

    message = page.evaluate("() => got[0]")
    assert message["wayline"] == "refused"
    assert ("expired" if which != "other-application" else "another application") in message["detail"]
    assert host.locator("#wayline-builder").count() == 0
    assert not [url for url in requested if "builder.js" in url or "/wayline.js" in url]


def test_builder__page_without_token__builder_never_requested(snippet, page):
    requested = []
    page.context.on("request", lambda r: requested.append(r.url))

    with page.expect_response(lambda response: "/api/v1/content" in response.url) as content:
        page.goto(snippet.demo())  # the end-user bundle runs and asks for content

    assert content.value.status == 200
    assert [url for url in requested if "/wayline.js" in url]
    assert not [url for url in requested if "builder" in url]

