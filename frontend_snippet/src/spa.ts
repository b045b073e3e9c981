// Single-page-app navigation: history.pushState/replaceState, popstate and hashchange.
import { safe } from './util';

/** Calls onChange (asynchronously, once the app has rendered) whenever location.href changes. */
export function watchUrl(w: Window, onChange: () => void): void {
  const h = w.history;
  let last = w.location.href;
  const later = () =>
    setTimeout(
      safe(() => {
        if (w.location.href !== last) {
          last = w.location.href;
          onChange();
        }
      }),
    );
  for (const m of ['pushState', 'replaceState'] as const) {
    const orig = h[m];
    h[m] = function (this: History, ...a: Parameters<History['pushState']>) {
      const r = orig.apply(this, a);
      later();
      return r;
    };
  }
  w.addEventListener('popstate', later);
  w.addEventListener('hashchange', later);
}
