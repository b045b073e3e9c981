// URL helpers with no DOM dependency (tested in Node).

const trim = (p: string) => p.replace(/\/+$/, '') || '/';

/** True when href is on the page that `target` names (same origin and path; query and hash ignored). */
export function samePage(target: string, href: string): boolean {
  try {
    const a = new URL(target, href);
    const b = new URL(href);
    return a.origin === b.origin && trim(a.pathname) === trim(b.pathname);
  } catch {
    return false;
  }
}
