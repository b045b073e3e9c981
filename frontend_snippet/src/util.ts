// Small helpers shared by every module: ids, error containment, storage that never throws.

/** Logs at debug level only: the snippet must never put errors in the host page's console. */
export const debug = (...a: unknown[]): void => console.debug('[wayline]', ...a);

/** Wraps a callback so an exception inside Wayline (or a rejection, for async ones) never reaches the page. */
export const safe =
  <A extends unknown[], R>(fn: (...a: A) => R) =>
  (...a: A): R | undefined => {
    try {
      const r = fn(...a);
      if (r instanceof Promise) r.catch(debug);
      return r;
    } catch (e) {
      debug(e);
    }
  };

/** RFC 4122 version 4 UUID; crypto.randomUUID exists only in secure contexts, hence the fallback. */
export const uuid = (): string =>
  crypto.randomUUID
    ? crypto.randomUUID()
    : '10000000-1000-4000-8000-100000000000'.replace(/[018]/g, (d) =>
        (+d ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (+d / 4)))).toString(16),
      );

export interface Store {
  getItem(k: string): string | null;
  setItem(k: string, v: string): void;
  removeItem(k: string): void;
  keys(): string[];
}

/**
 * A Storage facade that never throws: falls back to memory when the browser refuses
 * (Safari private mode, disabled cookies, quota exceeded), so events are kept for this page at least.
 */
export function safeStore(get: () => Storage | undefined): Store {
  const mem = new Map<string, string>();
  let s: Storage | undefined;
  try {
    s = get();
    s!.setItem('wl_t', '1');
    s!.removeItem('wl_t');
  } catch {
    s = undefined;
  }
  return {
    getItem: (k) => (mem.has(k) ? mem.get(k)! : s ? s.getItem(k) : null),
    setItem(k, v) {
      try {
        s!.setItem(k, v);
        mem.delete(k);
      } catch {
        mem.set(k, v);
      }
    },
    removeItem(k) {
      mem.delete(k);
      try {
        s!.removeItem(k);
      } catch {
        /* memory only */
      }
    },
    keys: () => [...mem.keys(), ...(s ? Object.keys(s) : [])],
  };
}

export const parse = <T>(s: string | null): T | null => {
  try {
    return s ? (JSON.parse(s) as T) : null;
  } catch {
    return null;
  }
};
