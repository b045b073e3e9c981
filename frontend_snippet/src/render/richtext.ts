// Rebuilds server-sanitised rich text node by node, keeping only the allowed tags and safe links.
// Defence in depth: the server already sanitised it; this never assigns HTML to the live DOM.

const ALLOWED = /^(B|I|STRONG|EM|A|P|BR|UL|OL|LI|CODE)$/;
// Other elements are unwrapped (their text kept, as text), except script and style whose text is code.
const DROP = /^(SCRIPT|STYLE)$/;

export function safeHref(href: string): string | null {
  try {
    const u = new URL(href, location.href);
    return /^(https?|mailto):$/.test(u.protocol) ? u.href : null;
  } catch {
    return null;
  }
}

function copy(from: Node, to: Node): void {
  from.childNodes.forEach((n) => {
    if (n.nodeType === 3) to.appendChild(document.createTextNode(n.nodeValue || ''));
    else if (n.nodeType === 1) {
      const tag = (n as Element).tagName.toUpperCase();
      if (DROP.test(tag)) return;
      if (!ALLOWED.test(tag)) return copy(n, to);
      const el = document.createElement(tag.toLowerCase());
      if (tag === 'A') {
        // No href (the server removed an unsafe one) stays none, not the page's own URL.
        const raw = (n as Element).getAttribute('href');
        const href = raw && safeHref(raw);
        if (href) el.setAttribute('href', href);
      }
      copy(n, el);
      to.appendChild(el);
    }
  });
}

/** Parses html inertly (DOMParser runs no scripts, loads nothing) and returns a clean fragment. */
export function richText(html: string | null | undefined): DocumentFragment {
  const frag = document.createDocumentFragment();
  if (html) copy(new DOMParser().parseFromString(html, 'text/html').body, frag);
  return frag;
}
