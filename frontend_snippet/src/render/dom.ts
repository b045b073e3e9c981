// DOM helpers for the renderers: element builder, guarded listeners, deep queries, focus.
import { safe } from '../util';

type Kid = Node | string | null | undefined | false;

/** Builds an element; strings become text nodes (never parsed as HTML). */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  cls?: string,
  attrs?: Record<string, string> | null,
  ...kids: Kid[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  if (cls) el.className = cls;
  for (const k in attrs) el.setAttribute(k, attrs[k]);
  for (const c of kids) if (c) el.append(c);
  return el;
}

/** addEventListener with the handler wrapped so it can never throw into the page. */
export function on<E extends Event = Event>(
  el: EventTarget,
  type: string,
  fn: (e: E) => void,
  capture?: boolean,
): () => void {
  const f = safe(fn as (e: Event) => void);
  el.addEventListener(type, f, capture);
  return () => el.removeEventListener(type, f, capture);
}

export function button(label: string, cls: string, fn: () => void, attrs?: Record<string, string>): HTMLButtonElement {
  const b = h('button', 'wl-btn ' + cls, { type: 'button', ...attrs }, label);
  on(b, 'click', fn);
  return b;
}

export const closeButton = (label: string, fn: () => void) => button('×', 'wl-x', fn, { 'aria-label': label });

/** A card (tooltip, survey, checklist panel): optional close button, a heading it is labelled by, kids. */
export function card(
  cls: string,
  id: string,
  title: string,
  attrs: Record<string, string>,
  close: false | [string, () => void],
  ...kids: Kid[]
): HTMLDivElement {
  return h(
    'div',
    'wl-card ' + cls,
    { tabindex: '-1', 'aria-labelledby': id, ...attrs },
    close && closeButton(close[0], close[1]),
    h('h2', 'wl-h', { id }, title),
    ...kids,
  );
}

/** querySelector that also looks inside open shadow roots, recursively. */
export function findDeep(sel: string, root: ParentNode = document): Element | null {
  let el = root.querySelector(sel);
  if (el) return el;
  for (const n of Array.from(root.querySelectorAll('*')))
    if (n.shadowRoot && (el = findDeep(sel, n.shadowRoot))) return el;
  return null;
}

/**
 * Calls cb with the first visible match of sel, or with null after timeoutMs (0 = wait forever).
 * A MutationObserver reacts to the page changing; a slow poll covers shadow roots it cannot see.
 * Returns a cancel function.
 */
export function waitFor(sel: string, timeoutMs: number, cb: (el: Element | null) => void): () => void {
  let done = false;
  let queued = false;
  const stop = () => {
    done = true;
    mo.disconnect();
    clearInterval(poll);
    clearTimeout(limit);
  };
  const check = safe(() => {
    queued = false;
    if (done) return;
    let el: Element | null = null;
    try {
      el = findDeep(sel);
    } catch {
      /* invalid selector: never found */
    }
    if (el && el.getClientRects().length) {
      stop();
      cb(el);
    }
  });
  const soon = () => {
    if (!queued) (queued = true), setTimeout(check, 50);
  };
  const mo = new MutationObserver(soon);
  mo.observe(document.documentElement, { childList: true, subtree: true, attributes: true });
  const poll = setInterval(check, 500);
  const limit = timeoutMs
    ? setTimeout(
        safe(() => {
          if (!done) stop(), cb(null);
        }),
        timeoutMs,
      )
    : 0;
  soon();
  return stop;
}

/** The focused element, looking through shadow roots. */
export function activeElement(): HTMLElement | null {
  let a = document.activeElement;
  while (a && a.shadowRoot && a.shadowRoot.activeElement) a = a.shadowRoot.activeElement;
  return a as HTMLElement | null;
}

/** Remembers where focus was; the returned function puts it back. */
export function keepFocus(): () => void {
  const prev = activeElement();
  return () => {
    if (prev && prev.isConnected && prev.focus) prev.focus({ preventScroll: true });
  };
}

/** Keyboard for dialogs: Escape calls onEscape; with trap, Tab and Shift+Tab cycle inside el. */
export function dialogKeys(el: HTMLElement, trap: boolean, onEscape: () => void): void {
  on<KeyboardEvent>(el, 'keydown', (e) => {
    if (e.key === 'Escape') {
      e.stopPropagation();
      onEscape();
    } else if (trap && e.key === 'Tab') {
      // Our dialogs hold buttons, links, a textarea and at most one radio group (one tab stop:
      // the checked radio, or the first one).
      const first = el.querySelector(':checked') || el.querySelector('input');
      const all = Array.from(el.querySelectorAll<HTMLInputElement>('button,a[href],textarea,input')).filter(
        (x) => x.getClientRects().length && !x.disabled && (x.type !== 'radio' || x === first),
      );
      const k = all.indexOf((el.getRootNode() as ShadowRoot).activeElement as HTMLInputElement);
      const n = all.length;
      e.preventDefault();
      if (n) all[e.shiftKey ? (k > 0 ? k : n) - 1 : (k + 1) % n].focus();
    }
  });
}
