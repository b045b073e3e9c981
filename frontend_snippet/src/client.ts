// The Wayline client: identity, events, the content decision and which guides are on screen.
// All state lives in the object createClient returns.
import { beaconEvents, fetchContent, identifyUser, sendEvents } from './api';
import { createQueue } from './queue';
import type { Queue } from './queue';
import { renderBar } from './render/bar';
import { renderChecklist } from './render/checklist';
import type { Ctx, GuideEvent, Handle } from './render/context';
import { on, waitFor } from './render/dom';
import { safeHref } from './render/richtext';
import { createRoot } from './render/root';
import { renderSurvey } from './render/survey';
import { renderTour } from './render/tour';
import { watchUrl } from './spa';
import { createTransport } from './transport';
import type { Content, Guide, Props } from './types';
import { debug, parse, safe, safeStore, uuid } from './util';

export interface Config {
  key: string;
  apiHost: string;
  userHash?: string;
}

export type Handler = (props: Props) => void;

export interface IdentifyOptions {
  account?: { id: string; traits?: Props };
  userHash?: string;
}

export interface Client {
  identify(userId: string, traits?: Props, opts?: IdentifyOptions): void;
  track(name: string, props?: Props): void;
  page(): void;
  reset(): void;
  show(guideId: number): void;
  on(event: string, fn: Handler): void;
  off(event: string, fn: Handler): void;
}

const RENDER: Record<string, (c: Ctx) => Handle> = {
  tour: renderTour,
  checklist: renderChecklist,
  bar: renderBar,
  survey: renderSurvey,
};
const SESSION_IDLE = 30 * 60 * 1000;
/** Events that carry guide_type: guide_shown, guide_completed, guide_dismissed, cta_clicked. */
const TYPED = /^(guide_[scd]|cta)/;
/** Tours and surveys take the one modal slot; bars and checklists coexist with them. */
const exclusive = (g: Guide) => g.type === 'tour' || g.type === 'survey';

export function createClient(cfg: Config, w: Window = window): Client {
  const P = 'wl_' + cfg.key + '_';
  const store = safeStore(() => w.localStorage);
  const tp = createTransport(cfg.apiHost, cfg.key);
  const ui = createRoot();
  const listeners: Record<string, Handler[]> = {};
  const newAnon = () => {
    const a = uuid();
    store.setItem(P + 'aid', a);
    return a;
  };
  let uid = store.getItem(P + 'uid');
  // With identity verification on, every identified call carries the user's HMAC, events and content too.
  let uh = store.getItem(P + 'uh');
  let aid = store.getItem(P + 'aid') || newAnon();
  let identifying: Promise<unknown> = Promise.resolve();
  // A preview link (?wayline_preview=…) holds for this page's life, SPA route changes included.
  const preview = new URLSearchParams(w.location.search).get('wayline_preview');
  let queue: Queue | null = preview
    ? null
    : createQueue({
        storage: store,
        prefix: P,
        tab: uuid(),
        now: Date.now,
        random: Math.random,
        setTimer: (f, ms) => setTimeout(safe(f), ms),
        clearTimer: (t) => clearTimeout(t as number),
        send: (ev) => sendEvents(tp, ev),
        beacon: (ev) => beaconEvents(tp, ev),
      });

  let guides: Guide[] = [];
  const active = new Map<number, { g: Guide; h: Handle }>();
  const ready = new Set<number>(); // triggered, waiting for their turn
  const closed = new Set<number>(); // finished in this page: never re-shown because of server lag
  let armed: (() => void)[] = [];
  let slot = 0; // id of the tour or survey on screen
  let seq = 0;
  let pending = 0; // 1: content decision due, 2: with a $pageview
  let lastHref = '';
  // Events tracked while a content answer is on its way: they trigger the guides it brings.
  const tracked = new Set<string>();

  function sessionId(): string {
    const t = Date.now();
    const s = parse<{ i: string; t: number }>(store.getItem(P + 'sid'));
    const id = s && t - s.t < SESSION_IDLE ? s.i : uuid();
    store.setItem(P + 'sid', JSON.stringify({ i: id, t }));
    return id;
  }

  const who = () => (uid ? { user_id: uid, ...(uh && { user_hash: uh }) } : { anonymous_id: aid });

  function record(name: string, properties: Props) {
    if (queue)
      queue.push({
        id: uuid(),
        name,
        ...who(),
        timestamp: new Date().toISOString(),
        properties,
        url: w.location.href,
        session_id: sessionId(),
      });
  }

  function emit(g: Guide, name: GuideEvent, props?: Props) {
    const p: Props = { guide_id: g.id, ...(TYPED.test(name) && { guide_type: g.type }), ...props };
    record(name === 'step_viewed' ? '$guide_step_viewed' : '$' + name, p);
    for (const f of listeners[name] || []) safe(f)(p);
  }

  const notify = (kind: 'event' | 'tour' | 'url', v: string | number) => {
    for (const a of [...active.values()]) if (a.h.notify) safe(a.h.notify)(kind, v);
  };

  function ctx(g: Guide): Ctx {
    let seen = false;
    return {
      g,
      ui,
      shown() {
        if (seen) return;
        seen = true;
        if (g.frequency && g.frequency.type === 'once') closed.add(g.id);
        const x = g.experiment;
        emit(g, 'guide_shown', { guide_version: g.version, ...(x && { experiment_id: x.id, variant: x.variant }) });
      },
      emit: (name, props) => emit(g, name, props),
      end(outcome, props) {
        if (!active.has(g.id)) return;
        if (outcome) emit(g, ('guide_' + outcome) as GuideEvent, props);
        close(g.id, true);
        if (outcome === 'completed' && g.type === 'tour') notify('tour', g.id);
      },
      act(action, url, tourId) {
        const href = action === 'url' && url && safeHref(url);
        if (href) w.location.assign(href);
        else if (action === 'tour' && tourId) show(tourId);
      },
    };
  }

  function close(id: number, final: boolean) {
    const a = active.get(id);
    if (final) closed.add(id);
    if (!a) return;
    active.delete(id);
    if (slot === id) slot = 0;
    safe(a.h.remove)();
    pump();
  }

  function start(g: Guide) {
    const render = RENDER[g.type];
    ready.delete(g.id);
    if (!render || active.has(g.id)) return;
    ui.mount();
    if (exclusive(g)) slot = g.id;
    active.set(g.id, { g, h: { remove() {} } });
    const h = render(ctx(g));
    const a = active.get(g.id);
    if (a) a.h = h;
    else safe(h.remove)(); // ended while rendering
  }

  /** Starts whatever is ready, in priority order, respecting the modal slot and one bar per edge. */
  function pump() {
    for (const g of guides) {
      if (!ready.has(g.id) || active.has(g.id) || closed.has(g.id)) continue;
      if (exclusive(g) ? slot : g.type === 'bar' && [...active.values()].some((a) => a.g.type === 'bar' && a.g.content.position === g.content.position))
        continue;
      start(g);
    }
  }

  function arm(g: Guide) {
    const t = g.trigger || { type: 'page_load' };
    if (t.type === 'page_load' || (t.type === 'event' && tracked.has(t.event!))) ready.add(g.id);
    else if (t.type === 'element' && t.selector)
      armed.push(
        waitFor(t.selector, 0, () => {
          ready.add(g.id);
          pump();
        }),
      );
  }

  async function decide(guideId?: number): Promise<Content | null> {
    const my = guideId ? seq : ++seq;
    await identifying;
    const r = await fetchContent(tp, {
      ...who(),
      url: w.location.href,
      device: w.innerWidth < 768 ? 'mobile' : 'desktop',
      session_id: sessionId(),
      preview: preview || undefined,
      guide_id: guideId ? '' + guideId : undefined,
    });
    if (r.status !== 200 || !r.data) debug('content', r.status);
    else if (my === seq) {
      const c = r.data;
      ui.theme(c.theme);
      ui.preview(!!c.preview);
      if (c.preview && queue) {
        queue.stop();
        queue = null;
      }
      return c;
    }
    return null;
  }

  function apply(c: Content) {
    const list = c.guides || [];
    const ids = new Set(list.map((g) => g.id));
    guides = list;
    armed.forEach((f) => f());
    armed = [];
    ready.clear();
    for (const id of [...active.keys()]) if (!ids.has(id)) close(id, false);
    for (const g of list) if (!active.has(g.id) && !closed.has(g.id)) arm(g);
    tracked.clear();
    pump();
  }

  /** Coalesces init, identify and navigation in one task into a single content request. */
  function schedule(pageview: boolean) {
    pending = Math.max(pending, pageview ? 2 : 1);
    setTimeout(
      safe(async () => {
        if (!pending) return;
        const pv = pending > 1;
        pending = 0;
        await identifying;
        const href = w.location.href;
        if (pv) {
          record('$pageview', { title: document.title, referrer: lastHref || document.referrer, path: w.location.pathname });
          lastHref = href;
          notify('url', href);
        }
        const c = await decide();
        if (c) apply(c);
      }),
    );
  }

  /** Manual trigger: the guide takes its turn like any triggered guide, fetched first if not listed. */
  function show(guideId: number) {
    const id = Number(guideId);
    closed.delete(id);
    ready.add(id);
    if (guides.some((x) => x.id === id)) return pump();
    decide(id).then(
      safe((c: Content | null) => {
        const g = c && (c.guides || []).find((x) => x.id === id);
        if (!g) return debug('guide not available', id);
        guides = guides.filter((x) => x.id !== id).concat(g);
        pump();
      }),
    );
  }

  on(w, 'pagehide', () => queue && queue.hide(true));
  on(document, 'visibilitychange', () => queue && document.visibilityState === 'hidden' && queue.hide(false));
  on<PageTransitionEvent>(w, 'pageshow', (e) => queue && e.persisted && queue.resume());
  on(w, 'online', () => queue && queue.resume());
  watchUrl(w, () => schedule(true));
  schedule(true);

  return {
    identify(userId, traits, opts) {
      const id = String(userId);
      const o = opts || {};
      const changed = id !== uid;
      uid = id;
      uh = o.userHash || cfg.userHash || null;
      store.setItem(P + 'uid', id);
      uh ? store.setItem(P + 'uh', uh) : store.removeItem(P + 'uh');
      identifying = identifyUser(tp, {
        user_id: id,
        anonymous_id: aid,
        traits: traits || {},
        account: o.account || null,
        user_hash: uh,
      }).then((r) => {
        if (r.status === 401 && uid === id) {
          debug('identify refused', r.data);
          uid = null;
          store.removeItem(P + 'uid');
        }
      });
      if (changed) schedule(false);
    },
    track(name, props) {
      const n = String(name);
      record(n, props || {});
      tracked.add(n);
      notify('event', n);
      for (const g of guides)
        if (g.trigger && g.trigger.type === 'event' && g.trigger.event === n && !active.has(g.id) && !closed.has(g.id)) ready.add(g.id);
      pump();
    },
    page: () => schedule(true),
    reset() {
      uid = uh = null;
      store.removeItem(P + 'uid');
      store.removeItem(P + 'uh');
      aid = newAnon();
      guides = [];
      closed.clear();
      for (const id of [...active.keys()]) close(id, false);
      schedule(false);
    },
    show,
    on(name, fn) {
      (listeners[name] = listeners[name] || []).push(fn);
    },
    off(name, fn) {
      listeners[name] = (listeners[name] || []).filter((f) => f !== fn);
    },
  };
}
