// Tooltip tours: one step at a time, anchored to its target with Floating UI.
import { arrow, autoUpdate, computePosition, flip, offset, shift } from '@floating-ui/dom';
import { debug, safe } from '../util';
import type { Ctx, Handle } from './context';
import { button, card, dialogKeys, h, keepFocus, on, waitFor } from './dom';
import { richText } from './richtext';
import { topLayerOf } from './root';

const OPPOSITE: Record<string, string> = { top: 'bottom', bottom: 'top', left: 'right', right: 'left' };

export function renderTour(c: Ctx): Handle {
  const { g, ui } = c;
  const steps = g.content.steps || [];
  const restore = keepFocus();
  let i = 0;
  let drawn = false;
  let cleanup: (() => void)[] = [];

  const clear = () => {
    cleanup.forEach((f) => f());
    cleanup = [];
    ui.lift(null);
  };
  const dismiss = () => c.end('dismissed', { step_index: i });

  function go(to: number, dir: 1 | -1) {
    clear();
    if (to < 0) (to = 0), (dir = 1);
    if (to >= steps.length) return c.end(drawn ? 'completed' : undefined);
    i = to;
    const s = steps[i];
    cleanup.push(
      waitFor(s.selector || 'body', s.wait_timeout_ms || 5000, (el) => {
        if (el) return draw(el);
        c.emit('guide_render_failed', { step_index: i, selector: s.selector, reason: 'target_not_found' });
        if (g.content.on_missing_target === 'stop') c.end();
        else go(i + dir, dir);
      }),
    );
  }

  function draw(target: Element) {
    const s = steps[i];
    const n = steps.length;
    const modal = s.modal;
    const arrowEl = h('div', 'wl-arrow');
    const tip = card(
      '',
      ui.id(),
      s.title,
      { role: 'dialog', ...(modal && { 'aria-modal': 'true' }) },
      ['Close tour', dismiss],
      arrowEl,
      h('div', 'wl-body', null, richText(s.body_html)),
      h(
        'div',
        'wl-foot',
        null,
        h('span', 'wl-n', null, n > 1 && `Step ${i + 1} of ${n}`),
        i > 0 && button('Back', 'wl-2', () => go(i - 1, -1)),
        s.advance === 'next' && button(i === n - 1 ? 'Done' : 'Next', '', () => go(i + 1, 1)),
      ),
    );
    const shade = modal ? h('div', 'wl-spot') : null;
    ui.lift(topLayerOf(target));
    ui.layer.append(...[shade, tip].filter((x): x is HTMLDivElement => !!x));
    cleanup.push(() => (tip.remove(), shade && shade.remove()));
    dialogKeys(tip, modal, dismiss);

    // Bring the target into view, in the page and in any scrolled container around it.
    target.scrollIntoView({ block: 'nearest' });
    const update = () => {
      if (!target.isConnected) return go(i, 1); // re-rendered by the app: wait for it again
      computePosition(target, tip, {
        strategy: 'fixed',
        placement: s.placement && s.placement !== 'auto' ? s.placement : 'bottom',
        middleware: [offset(12), flip({ crossAxis: false, fallbackAxisSideDirection: 'start' }), shift({ padding: 8 }), arrow({ element: arrowEl, padding: 8 })],
      }).then(
        safe(({ x, y, placement, middlewareData: m }) => {
          Object.assign(tip.style, { left: x + 'px', top: y + 'px' });
          const a: { x?: number; y?: number } = m.arrow || {};
          arrowEl.style.cssText =
            (a.x != null ? `left:${a.x}px;` : '') + (a.y != null ? `top:${a.y}px;` : '') + `${OPPOSITE[placement.split('-')[0]]}:-5px`;
          if (shade) {
            const b = target.getBoundingClientRect();
            shade.style.cssText = `left:${b.left - 4}px;top:${b.top - 4}px;width:${b.width + 8}px;height:${b.height + 8}px`;
          }
        }),
        debug,
      );
    };
    cleanup.push(autoUpdate(target, tip, safe(update)));
    if (s.advance === 'click') cleanup.push(on(target, 'click', () => setTimeout(safe(() => go(i + 1, 1))), true));
    c.shown();
    drawn = true;
    c.emit('step_viewed', { step_index: i, step_id: s.id, step_count: n });
    tip.focus({ preventScroll: true });
  }

  go(0, 1);
  return {
    remove() {
      clear();
      restore();
    },
    notify(kind, v) {
      const s = steps[i];
      if (kind === 'event' && s && s.advance === 'event' && s.advance_event === v) go(i + 1, 1);
    },
  };
}
