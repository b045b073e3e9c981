// The builder's screen furniture: one shadow root (like the snippet's), a panel, outline boxes.
import css from '../styles.css';
import { h } from '../render/dom';
import { themeVars } from '../theme';
import type { Theme } from '../types';
import builderCss from './builder.css';

const HOST_STYLE = 'all:initial!important;display:block!important;position:fixed!important;z-index:2147483647!important';

export interface BuilderUi {
  host: HTMLElement;
  layer: HTMLElement;
  panel: HTMLElement;
  /** An outline box over el (kind: '' hover, 'wl-sel' selected, 'wl-match' one of several matches). */
  outline(el: Element, kind: string, tag?: string): HTMLElement;
  /** Removes every outline box. */
  clearOutlines(): void;
  /** True when the event happened inside the builder's own UI. */
  owns(e: Event): boolean;
  remove(): void;
}

/** Draws box over el's border box (fixed position: the page's scroll is already in the rect). */
export function place(box: HTMLElement, el: Element): void {
  const r = el.getBoundingClientRect();
  box.style.cssText = `left:${r.left - 2}px;top:${r.top - 2}px;width:${r.width + 4}px;height:${r.height + 4}px`;
}

export function createUi(theme: Theme | null | undefined): BuilderUi {
  const host = h('div', '', { id: 'wayline-builder', style: HOST_STYLE });
  const shadow = host.attachShadow({ mode: 'open' });
  const panel = h('div', 'wl-bpanel', { role: 'region', 'aria-label': 'Wayline builder' });
  const layer = h('div', 'wl', null, panel);
  themeVars(theme).forEach((v) => layer.style.setProperty(v[0], v[1]));
  shadow.append(h('style', '', null, css + builderCss), layer);
  document.body.appendChild(host);
  let boxes: [HTMLElement, Element][] = [];
  const redraw = () => boxes.forEach(([b, el]) => place(b, el));
  window.addEventListener('scroll', redraw, true);
  window.addEventListener('resize', redraw);
  return {
    host,
    layer,
    panel,
    outline(el, kind, tag) {
      const box = h('div', 'wl-bx ' + kind, null, tag && h('span', 'wl-tag', null, tag));
      place(box, el);
      layer.appendChild(box);
      boxes.push([box, el]);
      return box;
    },
    clearOutlines() {
      boxes.forEach(([b]) => b.remove());
      boxes = [];
    },
    owns: (e) => e.composedPath().indexOf(host) >= 0,
    remove() {
      window.removeEventListener('scroll', redraw, true);
      window.removeEventListener('resize', redraw);
      host.remove();
    },
  };
}
