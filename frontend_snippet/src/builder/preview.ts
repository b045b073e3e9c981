// Preview mode: plays a draft tour on the real page, step by step, under a toolbar (Back, Next,
// Restart, Exit) that warns when a step's target is missing or matches several elements. Nothing
// is recorded: the end-user bundle is not loaded on builder pages, so no event queue exists.
import { autoUpdate, computePosition, flip, offset, shift } from '@floating-ui/dom';
import { button, card, h, on, waitFor } from '../render/dom';
import { richText } from '../render/richtext';
import { safe } from '../util';
import type { TourStep } from '../types';
import { matchCount } from './selector';
import type { Reply, Session } from './session';
import type { BuilderUi } from './ui';

/** Preview waits less than end users would for a late target: the PM is looking at the page. */
const MAX_WAIT_MS = 3000;

export function startPreview(ui: BuilderUi, session: Session, reply: Reply): void {
  const guide = session.guide;
  const steps: TourStep[] = (guide && guide.content.steps) || [];
  const count = h('span', 'wl-n');
  const status = h('p', '', { role: 'status', 'aria-live': 'polite' });
  const back = button('Back', 'wl-2', () => go(i - 1));
  const next = button('Next', '', () => go(i + 1));
  let i = 0;
  let cleanup: (() => void)[] = [];
  const clear = () => {
    cleanup.forEach((f) => f());
    cleanup = [];
    ui.clearOutlines();
  };

  ui.panel.replaceChildren(
    h('h2', '', null, `Preview: ${guide ? guide.name : ''}`),
    status,
    h('div', 'wl-row', null, count, back, next, button('Restart', 'wl-2', () => go(0)), button('Exit', 'wl-2', exit)),
  );
  ui.panel.setAttribute('aria-label', 'Wayline preview toolbar');

  function go(to: number) {
    clear();
    if (!steps.length) return (status.textContent = guide && guide.type !== 'tour' ? 'Preview on page plays tours.' : 'This tour has no steps yet.');
    i = Math.max(0, Math.min(to, steps.length - 1));
    const s = steps[i];
    count.textContent = `Step ${i + 1} of ${steps.length}`;
    back.disabled = i === 0;
    next.disabled = i === steps.length - 1;
    const sel = s.selector || 'body';
    status.className = '';
    status.textContent = `Looking for ${sel}…`;
    cleanup.push(
      waitFor(sel, Math.min(s.wait_timeout_ms || MAX_WAIT_MS, MAX_WAIT_MS), (el) => {
        const n = matchCount(document, sel);
        if (!el) {
          status.className = 'wl-bad';
          status.textContent =
            n < 0 ? `Step ${i + 1}: “${sel}” is not a valid CSS selector.` : `Step ${i + 1}: target “${sel}” not found on this page.`;
          return draw(null);
        }
        status.className = n > 1 ? 'wl-warn' : 'wl-ok';
        status.textContent =
          n > 1 ? `Step ${i + 1}: target “${sel}” matches ${n} elements; the tour would use the first.` : `Step ${i + 1}: target found.`;
        draw(el);
      }),
    );
  }

  function draw(target: Element | null) {
    const s = steps[i];
    const tip = card('', 'wl-pv-' + i, s.title, { role: 'dialog', 'data-step': String(i) }, false, h('div', 'wl-body', null, richText(s.body_html)));
    ui.layer.appendChild(tip);
    cleanup.push(() => tip.remove());
    if (!target) {
      // No anchor: show the step in the middle of the screen so its text can still be read.
      tip.style.cssText = 'left:50%;top:30%;transform:translateX(-50%)';
      return;
    }
    target.scrollIntoView({ block: 'nearest' });
    ui.outline(target, 'wl-sel');
    const update = () =>
      computePosition(target, tip, {
        strategy: 'fixed',
        placement: s.placement && s.placement !== 'auto' ? s.placement : 'bottom',
        middleware: [offset(12), flip(), shift({ padding: 8 })],
      }).then(safe(({ x, y }) => Object.assign(tip.style, { left: x + 'px', top: y + 'px' })));
    cleanup.push(autoUpdate(target, tip, safe(update)));
  }

  function exit() {
    clear();
    off();
    reply({ wayline: 'preview-exit' });
    ui.remove();
  }

  const off = on<KeyboardEvent>(window, 'keydown', (e) => {
    if (e.key === 'Escape') exit();
  });
  go(0);
}
