// The pinned server contract, one function per endpoint.
import type { Content, Props, WlEvent } from './types';
import type { Reply, Transport } from './transport';
import { debug } from './util';

export interface IdentifyBody {
  user_id: string;
  anonymous_id: string;
  traits: Props;
  account: { id: string; traits?: Props } | null;
  user_hash: string | null;
}

export const identifyUser = (t: Transport, body: IdentifyBody): Promise<Reply<{ user_id: string; stage: unknown }>> =>
  t.request('POST', 'identify', body);

export interface ContentQuery {
  user_id?: string;
  user_hash?: string;
  anonymous_id?: string;
  url: string;
  device: 'desktop' | 'mobile';
  session_id: string;
  preview?: string;
  guide_id?: string;
}

/** The content path with its query; undefined parameters are left out. */
export const contentPath = (q: ContentQuery): string => 'content?' + new URLSearchParams(JSON.parse(JSON.stringify(q)));

export const fetchContent = (t: Transport, q: ContentQuery): Promise<Reply<Content>> =>
  t.request<Content>('GET', contentPath(q));

/** Resolves with the HTTP status. Rejected items are logged, not retried: they would fail again. */
export const sendEvents = (t: Transport, events: WlEvent[]): Promise<number> =>
  t.request<{ rejected?: unknown[] }>('POST', 'events', { events }).then((r) => {
    if (r.data && r.data.rejected && r.data.rejected.length) debug('rejected events', r.data.rejected);
    return r.status;
  });

export const beaconEvents = (t: Transport, events: WlEvent[]): boolean => t.beacon('events', { events });
