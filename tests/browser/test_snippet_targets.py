"""Tour targets the page hides from plain queries: inside an open shadow root, inside a modal <dialog>."""
from playwright.sync_api import expect

from tests.browser.helpers import TOOLTIP, delivery, names_count, snippet, stored_events  # noqa: F401  (fixtures)
from tests.factories import make_live_tour

SHADOW_HOST = """<main><h1>Widgets</h1><chat-launcher id="launcher"></chat-launcher></main>
<script>
  customElements.define('chat-launcher', class extends HTMLElement {
    constructor() {
      super();
      this.attachShadow({mode: 'open'}).innerHTML =
        '<p>Chat</p><button id="open-chat" type="button">Open chat</button>';
    }
  });
</script>"""
# True once Floating UI has positioned the tooltip.
PLACED = "() => document.getElementById('wayline-root').shadowRoot.querySelector('.wl-card').style.top"
MODAL_DIALOG = """<main><h1>Settings</h1></main>
<dialog id="settings-dialog" aria-label="Workspace settings">
  <p>Rename your workspace</p><button id="rename" type="button">Rename</button>
</dialog>
<script>document.getElementById('settings-dialog').showModal();</script>"""


def test_targets__button_in_open_shadow_root__step_drawn_beside_it(page, snippet, console):
    make_live_tour(snippet.app, [{"selector": "#open-chat", "title": "Open the chat", "placement": "bottom"}])
    page.goto(snippet.host_page(page, SHADOW_HOST))
    tooltip = page.locator(TOOLTIP)
    expect(tooltip).to_contain_text("Open the chat")
    page.wait_for_function(PLACED)
    target = page.locator("#open-chat").bounding_box()  # Playwright's CSS also pierces open shadow roots
    card = tooltip.bounding_box()
    assert card["y"] >= target["y"] + target["height"]  # below its target…
    assert card["y"] - (target["y"] + target["height"]) < 30  # …right beside it
    assert card["x"] < target["x"] + target["width"] and target["x"] < card["x"] + card["width"]
    assert console.errors == []


def test_targets__button_in_modal_dialog__step_drawn_in_top_layer_and_usable(page, snippet, delivery, console):
    tour = make_live_tour(snippet.app, [{"selector": "#rename", "title": "Rename it"},
                                        {"selector": "#rename", "title": "Then save"}])
    page.goto(snippet.host_page(page, MODAL_DIALOG))
    tooltip = page.locator(TOOLTIP)
    expect(tooltip).to_contain_text("Rename it")
    # Outside the dialog the step would be inert under the backdrop; the snippet moved into the dialog.
    assert page.evaluate("document.getElementById('wayline-root').parentElement.id") == "settings-dialog"
    tooltip.get_by_role("button", name="Next").click()  # Playwright checks the click lands on the button
    expect(tooltip).to_contain_text("Then save")
    tooltip.get_by_role("button", name="Done").click()
    expect(tooltip).to_have_count(0)

    events = list(stored_events(page, snippet.app, delivery, properties__guide_id=tour.id))
    assert names_count(events, "$guide_completed") == 1
    assert console.errors == []
