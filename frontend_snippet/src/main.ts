// Bundle entry: installs the real window.wayline, replaying calls the loader queued.
// Calls made before init() are kept and replayed once init() creates the client.
import { createClient } from './client';
import type { Client } from './client';
import { debug } from './util';

type Call = [string, unknown[]];
type Api = Record<string, (...a: unknown[]) => void>;
type Stub = { q?: Call[]; v?: number };

const METHODS = ['init', 'identify', 'track', 'page', 'reset', 'show', 'on', 'off'];

(function (w: Window & { wayline?: Stub & Api }) {
  const stub = w.wayline;
  if (stub && stub.v) return; // the bundle is already running
  let client: Client | null = null;
  const early: Call[] = [];
  const api = { v: 1 } as unknown as Api;
  for (const m of METHODS)
    api[m] = (...a: unknown[]) => {
      try {
        if (m === 'init') {
          if (client) return;
          const o = (a[1] || {}) as { apiHost?: string; userHash?: string };
          client = createClient({ key: String(a[0]), apiHost: o.apiHost || '', userHash: o.userHash }, w);
          for (const [em, ea] of early.splice(0)) api[em](...ea);
        } else if (client) (client as unknown as Api)[m](...a);
        else early.push([m, a]);
      } catch (e) {
        debug(e);
      }
    };
  w.wayline = api;
  for (const [m, a] of (stub && stub.q) || []) if (api[m]) api[m](...a);
})(window);
