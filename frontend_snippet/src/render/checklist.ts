// Checklist: a launcher with progress that opens a panel of items; items tick as they complete.
import type { ChecklistItem } from '../types';
import { samePage } from '../url';
import type { Ctx, Handle } from './context';
import { button, card, dialogKeys, h } from './dom';
import { richText } from './richtext';

export function renderChecklist(c: Ctx): Handle {
  const { g, ui } = c;
  const ct = g.content;
  const title = ct.title || 'Checklist';
  const items: ChecklistItem[] = (ct.items || []).map((x) => ({ ...x }));
  const panelId = ui.id();
  const all = () => items.every((x) => x.completed);
  let done = all();

  const count = h('span', 'wl-count');
  const launch = button(title, 'wl-launch', () => toggle(panel.hidden), { 'aria-expanded': 'false', 'aria-controls': panelId });
  const fill = h('div');
  const list = h('ul');
  const panel = card(
    'wl-panel',
    ui.id(),
    title,
    { id: panelId, role: 'region' },
    !!ct.dismissible && ['Dismiss checklist', () => c.end(done ? undefined : 'dismissed')],
    h('div', 'wl-prog', null, fill),
    list,
  );
  panel.hidden = true;
  launch.append(count);
  dialogKeys(panel, false, () => {
    toggle(false);
    launch.focus();
  });

  function toggle(open: boolean) {
    panel.hidden = !open;
    launch.setAttribute('aria-expanded', '' + open);
    if (open) panel.focus();
  }

  function draw() {
    const n = items.filter((x) => x.completed).length;
    count.textContent = n + '/' + items.length;
    fill.style.width = (100 * n) / (items.length || 1) + '%';
    list.replaceChildren(
      ...items.map((it) =>
        h(
          'li',
          'wl-item' + (it.completed ? ' wl-done' : ''),
          null,
          h('span', 'wl-check', { 'aria-hidden': 'true' }, '✓'),
          h(
            'div',
            '',
            null,
            h('div', 'wl-it', null, it.title, it.completed && h('span', 'wl-sr', null, ' (completed)')),
            h('div', 'wl-body', null, richText(it.description_html)),
            !it.completed &&
              it.cta_label &&
              it.cta_action !== 'none' &&
              button(it.cta_label, '', () => {
                c.emit('cta_clicked', { label: it.cta_label, action: it.cta_action, item_id: it.id });
                c.act(it.cta_action, it.cta_url, it.cta_tour_id);
              }),
          ),
        ),
      ),
    );
  }

  /** Ticks the items a tracked event, a finished tour or the current URL completes. */
  const notify = (kind: string, v: string | number) => {
    let changed = false;
    for (const it of items)
      if (
        !it.completed &&
        it.completion === kind &&
        (kind === 'event' ? it.completion_event === v : kind === 'tour' ? it.completion_tour_id === v : samePage(it.completion_url || '', '' + v))
      ) {
        it.completed = changed = true;
        c.emit('checklist_item_completed', { item_id: it.id });
      }
    if (!changed) return;
    draw();
    if (!done && all()) {
      done = true;
      c.emit('guide_completed');
    }
  };

  draw();
  const box = h('div', '', null, panel, launch);
  ui.layer.append(box);
  c.shown();
  notify('url', location.href);
  return { remove: () => box.remove(), notify };
}
