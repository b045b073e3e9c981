// Event queue: batching, retry/backoff, persistence and the multi-tab lease, with an injected
// clock, a fake storage shared by "tabs" and a fake sender. No browser, no sleeping.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { BACKOFF_BASE, FLUSH_AFTER, FLUSH_AT, ORPHAN, TICK, createQueue } from '../src/queue.ts';
import type { Queue } from '../src/queue.ts';
import type { WlEvent } from '../src/types.ts';
import type { Store } from '../src/util.ts';

/** A clock with timers that only move when the test says so. */
function makeClock() {
  let now = 1_700_000_000_000;
  let seq = 0;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => now,
    setTimer(fn: () => void, ms: number) {
      timers.set(++seq, { at: now + ms, fn });
      return seq;
    },
    clearTimer(h: unknown) {
      timers.delete(h as number);
    },
    /** Advances time, firing due timers in order and letting promises settle after each. */
    async advance(ms: number) {
      const end = now + ms;
      for (;;) {
        await settle();
        const next = [...timers.entries()].sort((a, b) => a[1].at - b[1].at)[0];
        if (!next || next[1].at > end) break;
        timers.delete(next[0]);
        now = Math.max(now, next[1].at);
        next[1].fn();
      }
      now = end;
      await settle();
    },
  };
}

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function makeStorage(): Store & { data: Map<string, string> } {
  const data = new Map<string, string>();
  return {
    data,
    getItem: (k) => (data.has(k) ? data.get(k)! : null),
    setItem: (k, v) => void data.set(k, v),
    removeItem: (k) => void data.delete(k),
    keys: () => [...data.keys()],
  };
}

/** A fake server: records every batch; answers with the next scripted status (202 by default). */
function makeServer() {
  const batches: { tab: string; ids: string[] }[] = [];
  const statuses: number[] = [];
  const beacons: string[][] = [];
  return {
    batches,
    beacons,
    statuses,
    sentIds: () => batches.flatMap((b) => b.ids),
    send: (tab: string) => async (events: WlEvent[]) => {
      batches.push({ tab, ids: events.map((e) => e.id) });
      return statuses.length ? statuses.shift()! : 202;
    },
  };
}

let counter = 0;
const ev = (name = 'clicked'): WlEvent => ({
  id: `00000000-0000-4000-8000-${String(++counter).padStart(12, '0')}`,
  name,
  anonymous_id: 'anon',
  timestamp: new Date(0).toISOString(),
  properties: {},
  url: 'https://app.example.com/',
  session_id: 's',
});

interface Env {
  clock: ReturnType<typeof makeClock>;
  storage: ReturnType<typeof makeStorage>;
  server: ReturnType<typeof makeServer>;
}

function makeEnv(): Env {
  return { clock: makeClock(), storage: makeStorage(), server: makeServer() };
}

function tab(env: Env, name: string, beaconOk = true): Queue {
  return createQueue({
    storage: env.storage,
    prefix: 'wl_pk_',
    tab: name,
    now: env.clock.now,
    random: () => 0.5,
    setTimer: env.clock.setTimer,
    clearTimer: env.clock.clearTimer,
    send: env.server.send(name),
    beacon: (events) => {
      if (beaconOk) env.server.beacons.push(events.map((e) => e.id));
      return beaconOk;
    },
  });
}

const pushN = (q: Queue, n: number) => Array.from({ length: n }, () => ev()).map((e) => (q.push(e), e.id));

test('test_queue__20_events__flushed_at_once_in_one_batch', async () => {
  const env = makeEnv();
  const q = tab(env, 'a');
  // When: 19 events, nothing is sent yet; the 20th triggers a flush without waiting.
  pushN(q, FLUSH_AT - 1);
  await env.clock.advance(0);
  assert.equal(env.server.batches.length, 0);
  pushN(q, 1);
  await env.clock.advance(0);
  assert.equal(env.server.batches.length, 1);
  assert.equal(env.server.batches[0].ids.length, FLUSH_AT);
});

test('test_queue__few_events__flushed_after_2_seconds', async () => {
  const env = makeEnv();
  const q = tab(env, 'a');
  const ids = pushN(q, 3);
  await env.clock.advance(FLUSH_AFTER - 1);
  assert.equal(env.server.batches.length, 0);
  await env.clock.advance(1);
  assert.deepEqual(env.server.sentIds(), ids);
  // Sent events leave storage.
  assert.equal(env.storage.getItem('wl_pk_q.a'), null);
});

test('test_queue__network_errors__retried_with_exponential_backoff_and_same_uuid', async () => {
  const env = makeEnv();
  const q = tab(env, 'a');
  env.server.statuses.push(0, 503, 429);
  const ids = pushN(q, 2);
  await env.clock.advance(FLUSH_AFTER); // attempt 1 fails (network)
  assert.equal(env.server.batches.length, 1);
  // With random() = 0.5 the jitter factor is 0.75: waits of 750, 1500, 3000 ms.
  await env.clock.advance(BACKOFF_BASE * 0.75 - 1);
  assert.equal(env.server.batches.length, 1);
  await env.clock.advance(1); // attempt 2 fails (503)
  assert.equal(env.server.batches.length, 2);
  await env.clock.advance(BACKOFF_BASE * 1.5 - 1);
  assert.equal(env.server.batches.length, 2);
  await env.clock.advance(1); // attempt 3 fails (429)
  await env.clock.advance(BACKOFF_BASE * 3); // attempt 4 succeeds
  assert.equal(env.server.batches.length, 4);
  for (const b of env.server.batches) assert.deepEqual(b.ids, ids);
  await env.clock.advance(60_000);
  assert.equal(env.server.batches.length, 4);
});

test('test_queue__reload__persisted_events_sent_by_next_page_with_same_uuid', async () => {
  const env = makeEnv();
  const first = tab(env, 'page1', false);
  env.server.statuses.push(0); // offline when the first page tries
  const ids = pushN(first, 3);
  await env.clock.advance(FLUSH_AFTER);
  // Given: the page is closed (pagehide) while offline and the beacon is refused.
  first.hide(true);
  first.stop();
  assert.equal(env.server.batches.length, 1);
  // When: the next page load starts; it claims the closed page's box after its lease settles.
  const second = tab(env, 'page2');
  await env.clock.advance(2 * TICK);
  const resent = env.server.batches.filter((b) => b.tab === 'page2');
  assert.deepEqual(resent.flatMap((b) => b.ids), ids);
  assert.deepEqual(
    env.storage.keys().filter((k) => k.includes('q.')),
    [],
  );
  second.stop();
});

test('test_queue__crashed_tab__events_claimed_after_heartbeat_expires', async () => {
  const env = makeEnv();
  const a = tab(env, 'a');
  env.server.statuses.push(0);
  const ids = pushN(a, 2);
  await env.clock.advance(FLUSH_AFTER);
  a.stop(); // the tab dies without pagehide: its heartbeat stops
  const b = tab(env, 'b');
  await env.clock.advance(ORPHAN / 2);
  assert.equal(env.server.batches.filter((x) => x.tab === 'b').length, 0);
  await env.clock.advance(ORPHAN);
  assert.deepEqual(
    env.server.batches.filter((x) => x.tab === 'b').flatMap((x) => x.ids),
    ids,
  );
  b.stop();
});

test('test_queue__rejected_items_in_202__not_retried', async () => {
  const env = makeEnv();
  const q = tab(env, 'a');
  pushN(q, 2); // the server answers 202 with some items rejected: they are not retried
  await env.clock.advance(FLUSH_AFTER);
  await env.clock.advance(60_000);
  assert.equal(env.server.batches.length, 1);
  assert.equal(env.storage.getItem('wl_pk_q.a'), null);
});

test('test_queue__400__batch_dropped_not_retried', async () => {
  const env = makeEnv();
  const q = tab(env, 'a');
  env.server.statuses.push(400);
  pushN(q, 2);
  await env.clock.advance(FLUSH_AFTER);
  await env.clock.advance(60_000);
  assert.equal(env.server.batches.length, 1);
  assert.equal(env.storage.getItem('wl_pk_q.a'), null);
});

test('test_queue__413__batch_split_in_halves_then_single_oversized_event_dropped', async () => {
  const env = makeEnv();
  const q = tab(env, 'a');
  env.server.statuses.push(413, 202, 413, 413, 202);
  const ids = pushN(q, 4);
  await env.clock.advance(FLUSH_AFTER);
  await env.clock.advance(60_000);
  // 4 → 413; [0,1] → 202; [2,3] → 413; [2] → 413 (dropped); [3] → 202.
  assert.deepEqual(
    env.server.batches.map((b) => b.ids),
    [ids, ids.slice(0, 2), ids.slice(2), ids.slice(2, 3), ids.slice(3)],
  );
  assert.equal(env.storage.getItem('wl_pk_q.a'), null);
});

test('test_queue__more_than_100_events__sent_in_batches_of_at_most_100', async () => {
  const env = makeEnv();
  const q = tab(env, 'a');
  env.server.statuses.push(0); // offline while they pile up
  pushN(q, 19);
  await env.clock.advance(FLUSH_AFTER);
  env.storage.setItem('unrelated', 'x'); // other keys in storage are ignored
  const ids = pushN(q, 231);
  q.resume(); // back online
  await env.clock.advance(1000);
  assert.ok(env.server.batches.every((b) => b.ids.length <= 100));
  const sent = env.server.batches.slice(1).flatMap((b) => b.ids);
  assert.equal(new Set(sent).size, 250);
  assert.ok(ids.every((id) => sent.includes(id)));
});

test('test_queue__hidden_page__beacons_unsent_events_once', async () => {
  const env = makeEnv();
  const q = tab(env, 'a');
  const ids = pushN(q, 3);
  q.hide(false); // visibilitychange → hidden
  assert.deepEqual(env.server.beacons, [ids]);
  await env.clock.advance(60_000);
  assert.equal(env.server.batches.length, 0); // the beacon took them: no second send
});

test('test_queue__two_tabs_sharing_storage__never_send_the_same_event_twice', async () => {
  const env = makeEnv();
  // Given: two live tabs, intermittently offline, both pushing, one of them closing midway.
  const a = tab(env, 'a', false);
  const b = tab(env, 'b', false);
  env.server.statuses.push(0, 500, 0, 202, 0, 503, 202, 0);
  const ids: string[] = [];
  for (let round = 0; round < 30; round++) {
    ids.push(...pushN(round % 2 ? a : b, 7));
    if (round === 15) {
      a.hide(true); // tab a closes; its beacon is refused, b must take over
      a.stop();
    }
    await env.clock.advance(900);
  }
  await env.clock.advance(10 * ORPHAN);
  const delivered = env.server.batches.flatMap((x, i) => (i >= 8 || [3, 6].includes(i) ? x.ids : []));
  // Every event arrives, and no event is in two successful batches.
  assert.equal(new Set(delivered).size, delivered.length);
  assert.deepEqual([...delivered].sort(), [...ids].sort());
  b.stop();
});

test('test_queue__two_healthy_tabs__each_event_sent_exactly_once', async () => {
  const env = makeEnv();
  const a = tab(env, 'a', false);
  const b = tab(env, 'b', false);
  const ids: string[] = [];
  for (let round = 0; round < 20; round++) {
    ids.push(...pushN(round % 2 ? a : b, 5));
    if (round === 10) a.hide(true), a.stop();
    await env.clock.advance(700);
  }
  await env.clock.advance(5 * ORPHAN);
  const sent = env.server.sentIds();
  assert.equal(sent.length, ids.length);
  assert.deepEqual([...sent].sort(), [...ids].sort());
  b.stop();
});
