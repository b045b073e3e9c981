"use strict";
// The guide change form's half of the visual builder: "Pick on page" next to every selector field
// and "Preview on page" for tours. Each opens the PM's page in a popup with a fresh builder token;
// the builder answers with postMessage, accepted only from that popup, from the page's origin,
// carrying the nonce this form sent. Pages that cut the popup off from this window (COOP
// same-origin) cannot post: the builder then stores the pick on the server, which this form polls.
(function () {
  const config = JSON.parse(document.getElementById("wl-builder-config").textContent);
  const pageInput = document.getElementById("wl-builder-url");
  const status = document.querySelector(".wl-builder-status");
  const appSelect = document.getElementById("id_application");
  const SELECTOR_FIELDS = "input[name$='-selector'], input[name='trigger_selector']";
  const POLL_MS = 1000;
  const POLL_FOR_MS = 10 * 60 * 1000; // a builder link's lifetime
  let pending = null; // {popup, origin, nonce, input, note, until}

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function say(text, kind) {
    status.textContent = text;
    status.className = "wl-builder-status" + (kind ? " wl-" + kind : "");
  }

  const applicationId = () => (appSelect ? appSelect.value : "");
  const rememberKey = () => "wl-builder-url:" + applicationId();

  function fillDefaultPage() {
    if (pageInput.dataset.touched) return;
    pageInput.value = localStorage.getItem(rememberKey()) || config.default_pages[applicationId()] || "";
  }

  function nonce() {
    const bytes = new Uint8Array(12);
    crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  async function open(mode, input, note) {
    const body = new URLSearchParams({
      mode, url: pageInput.value.trim(), application: applicationId(), guide: config.guide_id || "", nonce: nonce(),
    });
    say(mode === "pick" ? "Opening the page to pick an element…" : "Opening the preview…");
    let answer;
    try {
      const response = await fetch(config.link_url, {
        method: "POST", body, headers: {"X-CSRFToken": csrfToken()}, credentials: "same-origin",
      });
      answer = await response.json();
    } catch (error) {
      return say("Could not reach Wayline: " + error, "error");
    }
    if (answer.error) return say(answer.error, "error");
    localStorage.setItem(rememberKey(), pageInput.value.trim());
    const popup = window.open(answer.url, "wayline-builder");
    if (!popup) return say("The browser blocked the window: allow pop-ups for this site.", "error");
    pending = {popup, origin: answer.origin, nonce: body.get("nonce"), input, note, until: Date.now() + POLL_FOR_MS};
    say(mode === "pick" ? "Pick the element in the other window." : "The preview plays in the other window.");
    if (mode === "pick") poll(pending);
  }

  /** Asks the server for the pick of this window's link, until it comes, another starts, or time is up. */
  async function poll(which) {
    while (pending === which && Date.now() < which.until) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (pending !== which) return;
      try {
        const response = await fetch(config.pick_url.replace("NONCE", which.nonce), {credentials: "same-origin"});
        const answer = await response.json();
        if (answer.pick && pending === which) return applyPick(answer.pick);
      } catch (error) {
        // Offline for a moment: try again at the next tick.
      }
    }
  }

  function applyPick(data) {
    if (!pending || !pending.input || typeof data.selector !== "string") return;
    pending.input.value = data.selector;
    pending.input.dispatchEvent(new Event("change", {bubbles: true}));
    // A tour step keeps what the element said when it was picked, for the PM's reference.
    const labelInput = document.getElementById(pending.input.id + "_label");
    if (labelInput) labelInput.value = String(data.label || "").slice(0, labelInput.maxLength > 0 ? labelInput.maxLength : 200);
    const how = data.fragility ? data.strategy + ", " + data.fragility + " fragility" : data.strategy;
    pending.note.textContent = "Picked “" + String(data.label || "") + "” (" + how + "). Save to keep it.";
    say("Selector received: save the guide to keep it.", "ok");
    pending.input.focus();
    pending = null;
  }

  function pickButton(input) {
    // The inline's hidden template row is cloned by "Add another": it gets its button once cloned.
    if (input.dataset.wlPick || input.name.includes("__prefix__")) return;
    input.dataset.wlPick = "1";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "button wl-pick";
    button.textContent = "Pick on page";
    button.setAttribute("aria-label", "Pick on page for " + (input.labels && input.labels[0] ? input.labels[0].textContent : input.name));
    const note = document.createElement("span");
    note.className = "wl-picked";
    note.setAttribute("aria-live", "polite");
    button.addEventListener("click", () => open("pick", input, note));
    input.after(button, note);
  }

  function onMessage(event) {
    const data = event.data;
    if (!pending || event.source !== pending.popup || !data || typeof data.wayline !== "string") return;
    if (data.wayline === "refused") {
      // The loader answers before it knows the admin's origin: trust only that it came from our popup.
      pending = null;
      return say("The page refused the builder link: " + (data.detail || "it is not valid there."), "error");
    }
    if (event.origin !== pending.origin || data.nonce !== pending.nonce) return;
    if (data.wayline === "selector") {
      applyPick(data);
    } else if (data.wayline === "cancel") {
      pending = null;
      say("Picking cancelled.");
    } else if (data.wayline === "ready") {
      say(data.mode === "pick" ? "Pick the element in the other window." : "The preview is playing in the other window.");
    } else if (data.wayline === "preview-exit") {
      say("Preview closed.");
    }
  }

  document.querySelectorAll(SELECTOR_FIELDS).forEach(pickButton);
  // Django's inline formsets announce rows added with "Add another".
  document.addEventListener("formset:added", (event) => event.target.querySelectorAll(SELECTOR_FIELDS).forEach(pickButton));
  pageInput.addEventListener("input", () => (pageInput.dataset.touched = "1"));
  if (appSelect) appSelect.addEventListener("change", fillDefaultPage);
  fillDefaultPage();
  const preview = document.querySelector("a.wl-builder-preview");
  if (preview && config.preview) {
    preview.addEventListener("click", (event) => {
      event.preventDefault();
      open("preview", null, null);
    });
  }
  window.addEventListener("message", onMessage);
})();
