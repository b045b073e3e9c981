// Durable event queue: batches, retries with backoff, survives reloads, and never lets two tabs
// send the same event. Pure logic: clock, timers, storage and network are injected.
//
// Storage layout (prefix = "wl_<publishableKey>_"):
//   <prefix>q.<tab>  {h, n, t, e}  one box per tab, written only by its owner (or by the lease
//                                  holder that claims it once the owner is gone):
//                                  h = heartbeat (ms, 0 = page closed), n = failures in a row,
//                                  t = no send before this time (backoff), e = unsent events
//   <prefix>lease    {o, x}        which tab may claim orphaned boxes, until x
// Storage is the source of truth: a tab re-reads its box before and after each send, so a box
// claimed by another tab while this one was frozen is simply gone, never sent twice.
import type { WlEvent } from './types';
import type { Store } from './util';
import { parse } from './util';

export interface QueueDeps {
  storage: Store;
  prefix: string;
  tab: string;
  now(): number;
  random(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(handle: unknown): void;
  /** POSTs one batch; resolves with the HTTP status, 0 for a network error. */
  send(events: WlEvent[]): Promise<number>;
  /** navigator.sendBeacon; true when the browser accepted the batch. */
  beacon(events: WlEvent[]): boolean;
}

export const FLUSH_AT = 20; // events
export const FLUSH_AFTER = 2000; // ms after the oldest unsent event
export const MAX_BATCH = 100; // server limit per request
export const BEACON_BATCH = 50; // keep beacons well under the 64 KB keepalive quota
export const MAX_QUEUE = 1000; // oldest events are dropped past this
export const TICK = 2000; // cadence while orphans or the lease need attention
export const LEASE = 10000;
export const ORPHAN = 20000; // a box whose heartbeat is older than this belongs to a dead tab
export const BACKOFF_BASE = 1000;
export const BACKOFF_MAX = 300000;

interface Box {
  h: number;
  n: number;
  t: number;
  e: WlEvent[];
}

export interface Queue {
  push(ev: WlEvent): void;
  /** Sends what is due now, then reschedules. */
  flush(): Promise<void>;
  /** visibilitychange=hidden / pagehide: beacon what is not in flight; closing marks the box claimable. */
  hide(closing: boolean): void;
  /** The page came back (bfcache) or the network did: resume and retry now. */
  resume(): void;
  stop(): void;
}

export function createQueue(d: QueueDeps): Queue {
  const own = d.prefix + 'q.' + d.tab;
  const leaseKey = d.prefix + 'lease';
  const boxPrefix = d.prefix + 'q.';
  let timer: unknown;
  let due = 0; // when the oldest own event becomes due (0: nothing pending)
  let inflight: Set<string> | null = null;
  let limit = MAX_BATCH; // halved on 413
  let stopped = false;

  const read = (k: string): Box | null => {
    const b = parse<Box>(d.storage.getItem(k));
    return b && Array.isArray(b.e) ? b : null;
  };
  const mine = (): Box => read(own) || { h: 0, n: 0, t: 0, e: [] };
  const write = (b: Box) => {
    if (b.e.length) d.storage.setItem(own, JSON.stringify(b));
    else d.storage.removeItem(own);
  };
  const foreign = () => d.storage.keys().filter((k) => k.startsWith(boxPrefix) && k !== own);

  function push(ev: WlEvent) {
    const b = mine();
    b.e.push(ev);
    if (b.e.length > MAX_QUEUE) b.e.splice(0, b.e.length - MAX_QUEUE);
    b.h = d.now();
    write(b);
    if (!due) due = b.h + FLUSH_AFTER;
    if (b.e.length >= FLUSH_AT) void flush();
    else schedule();
  }

  /** Two-phase lease: a tab claims orphans only if it already held the lease at its previous tick,
   *  so when two tabs race for a free lease the last writer wins and only it claims. */
  function claim() {
    const t = d.now();
    const l = parse<{ o: string; x: number }>(d.storage.getItem(leaseKey));
    const held = !!l && l.o === d.tab && l.x > t;
    if (!l || l.x <= t || l.o === d.tab) d.storage.setItem(leaseKey, JSON.stringify({ o: d.tab, x: t + LEASE }));
    if (!held) return;
    const moved: WlEvent[] = [];
    const gone: string[] = [];
    for (const k of foreign()) {
      const b = read(k);
      if (!b || !b.h || b.h < t - ORPHAN) {
        if (b) moved.push(...b.e);
        gone.push(k);
      }
    }
    if (moved.length) {
      const b = mine();
      const ids = new Set(b.e.map((e) => e.id));
      b.e = moved.filter((e) => !ids.has(e.id) && ids.add(e.id)).concat(b.e);
      b.h = t;
      write(b); // write our copy first: a crash in between may resend (server dedups), never lose
      due = t;
    }
    gone.forEach((k) => d.storage.removeItem(k));
  }

  async function flush() {
    if (stopped || inflight) return;
    let b = read(own);
    const t = d.now();
    if (!b) {
      due = 0;
      return schedule();
    }
    if (t < b.t || (b.e.length < FLUSH_AT && t < due)) return schedule();
    const batch = b.e.slice(0, limit);
    inflight = new Set(batch.map((e) => e.id));
    b.h = t;
    write(b);
    let status = 0;
    try {
      status = await d.send(batch);
    } catch {
      /* network error */
    }
    const sent = inflight;
    inflight = null;
    b = mine(); // re-read: new events may have been pushed meanwhile
    if (status === 413 && batch.length > 1) {
      limit = Math.ceil(batch.length / 2);
      due = d.now();
    } else if (!status || status === 408 || status === 429 || status >= 500) {
      // Network error, timeout, throttling or server error. (Another 4xx would fail again.)
      b.n++;
      b.t = d.now() + Math.min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (b.n - 1)) * (0.5 + d.random() / 2);
      write(b);
      return schedule();
    } else {
      // 2xx, or a permanent rejection (400, 401, 413 on a single event...): either way done.
      b.e = b.e.filter((e) => !sent.has(e.id));
      b.n = b.t = 0;
      limit = MAX_BATCH;
      write(b);
      due = b.e.length ? d.now() : 0; // the rest was waiting behind this batch
    }
    if (!stopped) await flush();
  }

  function schedule() {
    if (stopped) return;
    d.clearTimer(timer);
    const t = d.now();
    const b = read(own);
    let at = Infinity;
    if (b) at = Math.min(Math.max(due || t, b.t), t + ORPHAN / 4); // also keeps our heartbeat fresh
    if (foreign().length) at = Math.min(at, t + TICK);
    if (at < Infinity) timer = d.setTimer(wake, Math.max(0, at - t));
  }

  function wake() {
    timer = undefined;
    if (stopped) return;
    const b = read(own);
    if (b && !inflight) {
      b.h = d.now();
      write(b);
    }
    claim();
    void flush();
  }

  function hide(closing: boolean) {
    if (closing) {
      // Hand over at once: the next page load may take the lease and claim what is left.
      const l = parse<{ o: string }>(d.storage.getItem(leaseKey));
      if (l && l.o === d.tab) d.storage.removeItem(leaseKey);
    }
    const b = read(own);
    if (!b) return;
    if (closing) b.h = 0;
    const out = b.e.filter((e) => !inflight || !inflight.has(e.id));
    const sent = new Set<string>();
    for (let i = 0; i < out.length; i += BEACON_BATCH) {
      const chunk = out.slice(i, i + BEACON_BATCH);
      if (!d.beacon(chunk)) break;
      chunk.forEach((e) => sent.add(e.id));
    }
    b.e = b.e.filter((e) => !sent.has(e.id));
    write(b);
  }

  function resume() {
    const b = read(own);
    if (b) {
      b.h = d.now();
      b.t = b.n = 0;
      write(b);
    }
    due = d.now();
    void flush();
  }

  wake();
  return {
    push,
    flush,
    hide,
    resume,
    stop() {
      stopped = true;
      d.clearTimer(timer);
    },
  };
}
