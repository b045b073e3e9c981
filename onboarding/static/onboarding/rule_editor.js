"use strict";
// Live validation of rule editors in the admin: the server's own validator, as you type.
(function () {
  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function show(status, result) {
    status.replaceChildren();
    status.className = "wl-rule-status " + (result.valid ? "wl-ok" : "wl-error");
    if (result.valid) {
      status.textContent = result.description ? "Valid: " + result.description : "Valid";
      return;
    }
    const list = document.createElement("ul");
    for (const message of result.errors) {
      const item = document.createElement("li");
      item.textContent = message;
      list.appendChild(item);
    }
    status.appendChild(list);
  }

  function attach(editor) {
    const input = editor.querySelector("textarea");
    const status = editor.querySelector(".wl-rule-status");
    if (!input || !status || editor.dataset.wlReady) return;
    editor.dataset.wlReady = "1";
    let timer = null;
    const validate = function () {
      fetch(editor.dataset.validateUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
        body: input.value,
      })
        .then(function (response) { return response.json(); })
        .then(function (result) { show(status, result); })
        .catch(function () { status.textContent = "Could not check the rule right now."; });
    };
    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(validate, 300);
    });
    editor.querySelectorAll(".wl-rule-example").forEach(function (button) {
      button.addEventListener("click", function () {
        input.value = button.dataset.rule;
        validate();
      });
    });
    if (input.value.trim()) validate();
  }

  function attachAll() { document.querySelectorAll(".wl-rule-editor").forEach(attach); }
  document.addEventListener("DOMContentLoaded", attachAll);
  document.addEventListener("formset:added", attachAll);
})();
