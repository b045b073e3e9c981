// What the loader hands over once the server accepted the builder token (GET /builder/session).
import type { Guide, Theme } from '../types';

export interface Session {
  mode: 'pick' | 'preview';
  nonce: string;
  /** The admin's origin: the only one the builder posts answers to. */
  admin_origin: string;
  bundle_url: string;
  expires_at: string;
  theme: Theme;
  guide: Pick<Guide, 'id' | 'name' | 'type' | 'content'> | null;
}

export interface Handoff {
  key: string;
  apiHost: string;
  session: Session;
}

/** Message to the admin window that opened this page; false when there is none to tell. */
export type Reply = (message: Record<string, unknown>) => boolean;

export function replyTo(w: Window, s: Session): Reply {
  return (message) => {
    const admin = w.opener as Window | null;
    if (!admin || admin.closed) return false;
    admin.postMessage({ ...message, nonce: s.nonce }, s.admin_origin);
    return true;
  };
}

export interface PickedTarget {
  selector: string;
  label: string;
  strategy: string;
  fragility: string | null;
}

/**
 * Stores the pick on the server for the admin form, which polls for it: the way back when this
 * page has no opener (sent with "Cross-Origin-Opener-Policy: same-origin"). Resolves to whether
 * the server kept it.
 */
export function pickSaver(w: Window, h: Handoff): (pick: PickedTarget) => Promise<boolean> {
  const token = /[?&]wayline_builder=([^&#]+)/.exec(w.location.search);
  return (pick) =>
    token
      ? fetch(h.apiHost + '/api/v1/builder/picks', {
          method: 'POST',
          headers: { 'Content-Type': 'application/json', 'X-Wayline-Key': h.key },
          body: JSON.stringify({ token: decodeURIComponent(token[1]), ...pick }),
        }).then(
          (r) => r.ok,
          () => false,
        )
      : Promise.resolve(false);
}
