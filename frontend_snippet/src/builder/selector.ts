// Proposes the most stable CSS selector for an element a product manager picked, and says how
// fragile it is. Pure over the standard DOM (no rendering, no globals), so node tests run it on a
// parsed document and the builder runs it on the live page.

export type Fragility = 'low' | 'medium' | 'high';

export interface Proposal {
  selector: string;
  /** What the selector relies on, in words a PM understands. */
  strategy: string;
  /** low: attributes made for tests or tours, hand-written ids; medium: labels, names, classes; high: page structure. */
  fragility: Fragility;
}

/** Attributes that exist to be targeted (tests, tours): the most stable anchors there are. */
export const TEST_ATTRIBUTES = ['data-tour', 'data-testid', 'data-test-id', 'data-test', 'data-cy', 'data-qa', 'data-wayline'];
/** Attributes that name an element for people or forms: stable until the wording changes. */
const LABEL_ATTRIBUTES: [string, string][] = [
  ['aria-label', 'accessible label (aria-label)'],
  ['name', 'form name'],
  ['alt', 'image text (alt)'],
  ['placeholder', 'placeholder text'],
  ['title', 'tooltip text (title)'],
  ['href', 'link target (href)'],
];
const MAX_SELECTOR = 500; // the admin's field length
const MAX_VALUE = 120; // longer attribute values are content, not names

/**
 * Ids that frameworks or counters generate: they change between builds, sessions or renders.
 * Examples: ":r3:" (React useId), "ember123", "headlessui-menu-button-5", "btn-4f9a2c1e", "mui-28934".
 */
export function isGeneratedId(id: string): boolean {
  return (
    !id ||
    /^[:\d]|^(ember|ext-gen|yui_|gwt-|ui-id-|react-|radix-|headlessui-|mui-|rc-|__)/i.test(id) ||
    /\d{3,}|[-_:.]\d+$/.test(id) ||
    /(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}/i.test(id) ||
    id.length > 60
  );
}

/** State classes come and go with the element's state; picking one would match only sometimes. */
const STATE_CLASS = /^(is-|has-)?(active|open|opened|closed|selected|hover|hovered|focus|focused|disabled|visible|hidden|show|shown|collapsed|expanded|current|checked|loading)$/i;

/**
 * Classes a build tool generated (they change with every release): CSS-in-JS and CSS modules.
 * Examples: "css-1x2y3z" (Emotion), "sc-bdVaJa" and "kPqRst" (styled-components),
 * "Button_primary__3kH9a" (CSS modules), "jsx-2739612" (styled-jsx), "svelte-1xy2z".
 */
export function isHashedClass(c: string): boolean {
  if (/^(css|sc|jsx|svelte|emotion|styled|jss|tw|makeStyles)-/i.test(c)) return true;
  const modulePart = /__([\w-]+)$/.exec(c);
  if (modulePart && modulePart[1].length >= 5 && /\d|[A-Z]/.test(modulePart[1])) return true;
  if (/^[a-zA-Z0-9]{5,8}$/.test(c) && ((/\d/.test(c) && /[a-z]/i.test(c)) || (c.slice(1).match(/[A-Z]/g) || []).length >= 2))
    return true;
  return /(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{6,}/i.test(c);
}

/** A class worth targeting: hand-written, not a state, not a utility with punctuation, not ours. */
export const isStableClass = (c: string): boolean =>
  /^-?[_a-zA-Z][\w-]*$/.test(c) && !isHashedClass(c) && !STATE_CLASS.test(c) && !/^wl-/.test(c);

/** CSS.escape for identifiers (ids, classes), for documents without the CSS global. */
export function cssIdent(s: string): string {
  return s
    .replace(/[^\w-]/g, (ch) => '\\' + ch)
    .replace(/^(-?)(\d)/, (_m, dash: string, d: string) => dash + '\\3' + d + ' ')
    .replace(/^-$/, '\\-');
}

/** A quoted attribute value. */
export const cssString = (s: string): string => '"' + s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\a ') + '"';

const tag = (el: Element) => el.tagName.toLowerCase();

/**
 * How many elements `selector` matches under root; -1 when it is not a valid selector.
 * Used for the live match count when the PM edits the proposal.
 */
export function matchCount(root: ParentNode, selector: string): number {
  try {
    return selector.trim() ? root.querySelectorAll(selector).length : -1;
  } catch {
    return -1;
  }
}

/** The document or shadow root the element lives in: selectors are checked there. */
export const rootOf = (el: Element): ParentNode => (el.getRootNode ? (el.getRootNode() as ParentNode) : el.ownerDocument);

/** True when selector matches el and nothing else in its root. */
export function matchesOnly(el: Element, selector: string, root: ParentNode = rootOf(el)): boolean {
  if (selector.length > MAX_SELECTOR) return false;
  try {
    const all = root.querySelectorAll(selector);
    return all.length === 1 && all[0] === el;
  } catch {
    return false;
  }
}

/** The element's own selectors, most stable first (each may or may not be unique). */
export function candidates(el: Element): Proposal[] {
  const out: Proposal[] = [];
  const t = tag(el);
  for (const a of TEST_ATTRIBUTES) {
    const v = el.getAttribute(a);
    if (v && v.length <= MAX_VALUE) out.push({ selector: `[${a}=${cssString(v)}]`, strategy: `${a} attribute`, fragility: 'low' });
  }
  const id = el.getAttribute('id');
  if (id && !isGeneratedId(id)) out.push({ selector: '#' + cssIdent(id), strategy: 'id', fragility: 'low' });
  for (const [a, words] of LABEL_ATTRIBUTES) {
    const v = el.getAttribute(a);
    if (v && v.trim() && v.length <= MAX_VALUE && !(a === 'href' && /^(javascript:|#?$)/i.test(v)))
      out.push({ selector: `${t}[${a}=${cssString(v)}]`, strategy: words, fragility: 'medium' });
  }
  const role = el.getAttribute('role');
  const classes = Array.from(el.classList).filter(isStableClass).slice(0, 3);
  if (classes.length) {
    for (let n = 1; n <= classes.length; n++)
      out.push({ selector: t + classes.slice(0, n).map((c) => '.' + cssIdent(c)).join(''), strategy: 'stable class names', fragility: 'medium' });
  }
  if (role) out.push({ selector: `${t}[role=${cssString(role)}]`, strategy: 'role', fragility: 'medium' });
  const type = el.getAttribute('type');
  if (type && /^(input|button)$/.test(t)) out.push({ selector: `${t}[type=${cssString(type)}]`, strategy: 'element type', fragility: 'high' });
  return out;
}

/** A short step of a structural path: the tag, and its position among same-tag siblings when needed. */
function step(el: Element): string {
  const parent = el.parentElement;
  const t = tag(el);
  if (!parent) return t;
  const same = Array.from(parent.children).filter((c) => c.tagName === el.tagName);
  return same.length > 1 ? `${t}:nth-of-type(${same.indexOf(el) + 1})` : t;
}

/** The nearest ancestor that a low-fragility selector identifies uniquely, with that proposal. */
function anchorOf(el: Element, root: ParentNode): [Element, Proposal] | null {
  for (let a = el.parentElement; a && tag(a) !== 'body' && tag(a) !== 'html'; a = a.parentElement) {
    const p = candidates(a).find((c) => c.fragility === 'low' && matchesOnly(a!, c.selector, root));
    if (p) return [a, p];
  }
  return null;
}

/**
 * The most stable selector that matches exactly `el`: its own stable attribute, id, label or
 * classes; else one of those scoped inside the nearest well-identified ancestor; else a short
 * structural path from that ancestor (or from body).
 */
export function propose(el: Element): Proposal {
  const root = rootOf(el);
  const own = candidates(el);
  const unique = own.find((c) => matchesOnly(el, c.selector, root));
  if (unique) return unique;
  const anchor = anchorOf(el, root);
  if (anchor) {
    const [a, p] = anchor;
    for (const c of own) {
      const scoped = `${p.selector} ${c.selector}`;
      if (c.fragility !== 'high' && matchesOnly(el, scoped, root))
        return { selector: scoped, strategy: `${c.strategy} inside an element with a stable ${p.strategy}`, fragility: 'medium' };
    }
    const path: string[] = [];
    for (let e: Element | null = el; e && e !== a; e = e.parentElement) path.unshift(step(e));
    const scoped = `${p.selector} > ${path.join(' > ')}`;
    if (matchesOnly(el, scoped, root))
      return { selector: scoped, strategy: `position inside an element with a stable ${p.strategy}`, fragility: 'high' };
  }
  const path: string[] = [];
  for (let e: Element | null = el; e; e = e.parentElement) {
    path.unshift(step(e));
    if (tag(e) === 'body') break;
  }
  return { selector: path.join(' > '), strategy: 'position in the page', fragility: 'high' };
}

/** A short human label of the element, shown to the PM next to the selector. */
export function describe(el: Element): string {
  const text = (s: string | null | undefined) => (s || '').replace(/\s+/g, ' ').trim();
  const label =
    text(el.getAttribute('aria-label')) ||
    text(el.getAttribute('alt')) ||
    text(el.textContent) ||
    text(el.getAttribute('placeholder')) ||
    text(el.getAttribute('title'));
  return label ? (label.length > 60 ? label.slice(0, 59) + '…' : label) : `<${tag(el)}>`;
}
