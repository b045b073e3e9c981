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
