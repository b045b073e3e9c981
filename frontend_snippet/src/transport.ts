// HTTP to the Wayline server: every request carries the publishable key; never throws.

export interface Reply<T = unknown> {
  status: number; // 0 = network error
  data: T | null;
}

export interface Transport {
  request<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<Reply<T>>;
  /** sendBeacon cannot set headers: the key goes in the query, the JSON body as text/plain. */
  beacon(path: string, body: unknown): boolean;
}

const KEEPALIVE_MAX = 60000; // browsers cap in-flight keepalive bodies at 64 KB

export function createTransport(apiHost: string, key: string): Transport {
  const url = (p: string) => apiHost.replace(/\/+$/, '') + '/api/v1/' + p;
  return {
    request(method, path, body) {
      const json = body ? JSON.stringify(body) : undefined;
      const headers: Record<string, string> = { 'X-Wayline-Key': key };
      if (json) headers['Content-Type'] = 'application/json';
      return fetch(url(path), { method, headers, body: json, keepalive: !!json && json.length < KEEPALIVE_MAX }).then(
        (r) => r.json().then((data) => ({ status: r.status, data }), () => ({ status: r.status, data: null })),
        () => ({ status: 0, data: null }),
      );
    },
    beacon(path, body) {
      try {
        return navigator.sendBeacon(url(path) + '?key=' + encodeURIComponent(key), JSON.stringify(body));
      } catch {
        return false;
      }
    },
  };
}
