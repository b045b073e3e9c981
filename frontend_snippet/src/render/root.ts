// The one shadow root every guide renders into, isolated from the host page's CSS both ways.
import css from '../styles.css';
import type { Theme } from '../types';
import { themeVars } from '../theme';
import { h } from './dom';

// Inline !important beats any host rule (`* {all: unset}`, `div {display: none}`, `z-index`
// wars). The host is a fixed box: it never affects layout; every guide inside is position: fixed.
// (A fixed box whose children are all fixed shrinks to 0×0.)
const HOST_STYLE = 'all:initial!important;display:block!important;position:fixed!important;z-index:2147483647!important';

export interface Root {
  host: HTMLElement;
  layer: HTMLElement;
  /** Unique id for aria-labelledby within the shadow root. */
  id(): string;
  /** Attaches the host to the page (again, if an SPA wiped body). */
  mount(): void;
  theme(t: Theme | null | undefined): void;
  preview(on: boolean): void;
  /** Moves the host into a top-layer element (modal dialog, popover, fullscreen), or back to body. */
  lift(into: Element | null): void;
}

export function createRoot(): Root {
  const host = h('div', '', { id: 'wayline-root', style: HOST_STYLE });
  const shadow = host.attachShadow({ mode: 'open' });
  const badge = h('div', 'wl-btn wl-preview', { role: 'status' }, 'Preview');
  const layer = h('div', 'wl', null, badge);
  badge.hidden = true;
  shadow.append(h('style', '', null, css), layer);
  let n = 0;
  let lifted: Element | null = null;
  const mount = () => {
    const parent = lifted && lifted.isConnected ? lifted : document.body || document.documentElement;
    if (host.parentNode !== parent) parent.appendChild(host);
  };
  return {
    host,
    layer,
    id: () => 'wl-' + ++n,
    mount,
    theme(t) {
      layer.removeAttribute('style');
      themeVars(t).forEach((v) => layer.style.setProperty(v[0], v[1]));
    },
    preview(on) {
      badge.hidden = !on;
    },
    lift(into) {
      lifted = into;
      mount();
    },
  };
}

/** The nearest top-layer ancestor of el (crossing shadow roots), or null. */
export function topLayerOf(el: Element): Element | null {
  for (let e: Element | null = el; e; ) {
    try {
      if (e.matches(':modal,:popover-open,:fullscreen')) return e;
    } catch {
      if (e.tagName === 'DIALOG' && (e as HTMLDialogElement).open) return e;
    }
    e = e.parentElement || ((e.getRootNode() as ShadowRoot).host as Element | undefined) || null;
  }
  return null;
}
