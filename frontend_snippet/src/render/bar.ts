// Notification bar at the top or bottom; optionally pushes the page instead of covering it.
import { safe } from '../util';
import type { Ctx, Handle } from './context';
import { button, closeButton, h } from './dom';
import { richText } from './richtext';

export function renderBar(c: Ctx): Handle {
  const { g, ui } = c;
  const ct = g.content;
  const top = ct.position !== 'bottom';
  const bar = h(
    'div',
    `wl-bar wl-${top ? 'top' : 'bottom'} wl-${ct.style || 'info'}`,
    { role: 'region', 'aria-label': 'Announcement' },
    h('div', 'wl-body', null, richText(ct.message_html)),
    ...(ct.buttons || []).slice(0, 2).map((b, k) =>
      button(b.label, k ? 'wl-2' : '', () => {
        c.emit('cta_clicked', { label: b.label, action: b.action, button_index: k });
        if (b.action === 'dismiss') return c.end('dismissed');
        c.end('completed');
        c.act(b.action, b.url, b.tour_id);
      }),
    ),
    ct.dismissible && closeButton('Dismiss', () => c.end('dismissed')),
  );
  ui.layer.append(bar);
  c.shown();

  let undo = () => {};
  if (ct.push_content) {
    const s = document.documentElement.style;
    const prop = top ? 'paddingTop' : 'paddingBottom';
    const orig = s[prop];
    const base = parseFloat(getComputedStyle(document.documentElement)[prop]) || 0;
    const fit = safe(() => (s[prop] = base + bar.offsetHeight + 'px'));
    const ro = new ResizeObserver(fit);
    ro.observe(bar);
    fit();
    undo = () => {
      ro.disconnect();
      s[prop] = orig;
    };
  }
  return {
    remove() {
      undo();
      bar.remove();
    },
  };
}
