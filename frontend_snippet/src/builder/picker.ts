// Pick mode: hover outlines an element, a click selects it, the PM checks or edits the proposed
// selector (live match count) and sends it back to the admin. Keyboard: ↑ parent, ↓ first child,
// ← → siblings, Enter selects, Escape cancels. While picking, the page's own handlers never see
// the pointer (the click must not press the app's buttons).
import { button, h, on } from '../render/dom';
import { describe, matchCount, propose } from './selector';
import type { Proposal } from './selector';
import type { PickedTarget, Reply } from './session';
import type { BuilderUi } from './ui';

const SWALLOWED = ['pointerdown', 'pointerup', 'mousedown', 'mouseup', 'click', 'dblclick', 'contextmenu', 'auxclick'];
const MAX_MATCH_OUTLINES = 50;

const tagOf = (el: Element) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '');
/** Elements the PM may pick: not the document's frame, not the builder itself. */
const pickable = (el: Element | null, ui: BuilderUi): el is Element =>
  !!el && el !== document.documentElement && el !== document.body && el !== ui.host;

export function startPicker(ui: BuilderUi, reply: Reply, save: (pick: PickedTarget) => Promise<boolean>): void {
  let picking = true;
  let current: Element | null = null; // hovered or reached by keyboard
  let selected: Element | null = null;
  let proposal: Proposal | null = null;
  const off: (() => void)[] = [];

  const intro = () => {
    ui.panel.replaceChildren(
      h('h2', '', null, 'Pick an element'),
      h('p', '', null, 'Click the element the step should point at.'),
      h('p', 'wl-hint', null, 'Keyboard: ↑ parent, ↓ child, ← → siblings, Enter selects, Esc cancels.'),
      h('div', 'wl-row', null, button('Cancel', 'wl-2', cancel)),
    );
  };

  function hover(el: Element | null) {
    current = el;
    ui.clearOutlines();
    if (el) ui.outline(el, '', tagOf(el));
  }

  function select(el: Element) {
    picking = false;
    selected = el;
    current = el;
    proposal = propose(el);
    const input = h('input', '', { 'aria-label': 'CSS selector', spellcheck: 'false', autocomplete: 'off' });
    input.value = proposal.selector;
    const status = h('p', '', { role: 'status', 'aria-live': 'polite' });
    const how = h('p', 'wl-hint');
    const use = button('Use this selector', '', () => send(input.value.trim()));
    const check = () => {
      const sel = input.value.trim();
      const n = matchCount(document, sel);
      const edited = !proposal || sel !== proposal.selector;
      ui.clearOutlines();
      if (n > 0)
        Array.from(document.querySelectorAll(sel))
          .slice(0, MAX_MATCH_OUTLINES)
          .forEach((m) => ui.outline(m, n === 1 && m === el ? 'wl-sel' : 'wl-match'));
      const exact = n === 1 && document.querySelector(sel) === el;
      status.className = exact ? 'wl-ok' : n === 1 ? 'wl-warn' : 'wl-bad';
      status.textContent =
        n < 0
          ? 'Not a valid CSS selector.'
          : n === 0
            ? 'Matches no element on this page.'
            : n > 1
              ? `Matches ${n} elements: a step needs exactly one.`
              : exact
                ? 'Matches exactly this element.'
                : 'Matches one element, but not the one you picked.';
      use.disabled = n !== 1;
      how.replaceChildren(
        edited ? 'Strategy: edited by hand' : `Strategy: ${proposal!.strategy} · `,
        ...(edited ? [] : [h('span', 'wl-frag-' + proposal!.fragility, { 'data-fragility': proposal!.fragility }, `${proposal!.fragility} fragility`)]),
      );
    };
    on(input, 'input', check);
    on<KeyboardEvent>(input, 'keydown', (e) => {
      if (e.key === 'Enter' && !use.disabled) send(input.value.trim());
    });
    ui.panel.replaceChildren(
      h('h2', '', null, `Selected: “${describe(el)}”`),
      input,
      status,
      how,
      h('div', 'wl-row', null, use, button('Pick again', 'wl-2', again), button('Cancel', 'wl-2', cancel)),
      h('p', 'wl-hint', null, 'Keyboard: ↑ parent, ↓ child, ← → siblings.'),
    );
    check();
  }

  function again() {
    picking = true;
    selected = proposal = null;
    hover(null);
    intro();
  }

  function send(selector: string) {
    if (!selected || matchCount(document, selector) !== 1) return;
    const edited = !proposal || selector !== proposal.selector;
    const pick: PickedTarget = {
      selector,
      label: describe(selected),
      strategy: edited ? 'edited by hand' : proposal!.strategy,
      fragility: edited ? null : proposal!.fragility,
    };
    // Both ways back: a message to the opener (instant), and the server, which the admin polls.
    const told = reply({ wayline: 'selector', ...pick });
    finish('Sending the selector to the admin…');
    save(pick).then((saved) => {
      if (!told && !saved) return finish('The admin could not be reached, so copy the selector instead: ' + selector);
      finish('The selector is in the admin form: save the guide there. You can close this tab.');
      window.close();
    });
  }

  function cancel() {
    reply({ wayline: 'cancel' });
    finish('Picking cancelled. You can close this tab.');
  }

  function finish(message: string) {
    off.forEach((f) => f());
    ui.clearOutlines();
    ui.panel.replaceChildren(h('p', '', { role: 'status' }, message));
  }

  // While picking, the panel moves to the other bottom corner when the pointer comes near it, so
  // it never hides what the PM wants to pick (once per approach: no flapping on narrow screens).
  let near = false;
  off.push(
    on<MouseEvent>(document, 'mousemove', (e) => {
      const r = ui.panel.getBoundingClientRect();
      const close = e.clientX > r.left - 24 && e.clientX < r.right + 24 && e.clientY > r.top - 24 && e.clientY < r.bottom + 24;
      if (picking && close && !near) ui.panel.classList.toggle('wl-flip');
      near = close;
      if (ui.owns(e)) return;
      const t = e.target as Element;
      if (picking && pickable(t, ui) && t !== current) hover(t);
    }, true),
  );
  for (const type of SWALLOWED)
    off.push(
      on<MouseEvent>(window, type, (e) => {
        if (!picking || ui.owns(e)) return;
        e.preventDefault();
        e.stopImmediatePropagation();
        const t = e.target as Element;
        if (type === 'click' && pickable(t, ui)) select(t);
      }, true),
    );
  off.push(
    on<KeyboardEvent>(window, 'keydown', (e) => {
      if (ui.owns(e) && e.key !== 'Escape') return; // typing in the selector field
      const base = current;
      let next: Element | null = null;
      if (e.key === 'Escape') return e.preventDefault(), picking ? cancel() : again();
      if (e.key === 'Enter' && picking && base) return e.preventDefault(), select(base);
      if (!base) {
        // Keyboard only: the first arrow starts at the page's first element.
        if (/^Arrow/.test(e.key) && picking && pickable(document.body.firstElementChild, ui))
          e.preventDefault(), hover(document.body.firstElementChild);
        return;
      }
      if (e.key === 'ArrowUp') next = base.parentElement;
      else if (e.key === 'ArrowDown') next = base.firstElementChild;
      else if (e.key === 'ArrowLeft') next = base.previousElementSibling;
      else if (e.key === 'ArrowRight') next = base.nextElementSibling;
      else return;
      e.preventDefault();
      e.stopImmediatePropagation();
      if (!pickable(next, ui)) return;
      if (picking) hover(next);
      else select(next);
    }, true),
  );
  intro();
}
