// The install snippet: a queue stub for window.wayline plus an async <script> for the bundle.
// "__WAYLINE_BUNDLE_URL__" is replaced by the server when it renders the install tag.
//
// A builder link from the admin (?wayline_builder=<token>) loads the visual builder instead of the
// bundle, and only after the server accepted the token for this page's key: the stub's init asks
// GET /api/v1/builder/session, then loads the bundle_url it answers. A refusal is told to the admin
// window that opened the page; the builder is never loaded. End users' pages never carry the token.
(function (w: Window & { wayline?: unknown; waylineBuilder?: unknown }, d: Document, src: string) {
  if (w.wayline) return;
  const q: unknown[] = [];
  const stub: Record<string, unknown> = { q };
  let token = /[?&]wayline_builder=([^&#]+)/.exec(w.location.search);
  const load = (url: string) => {
    const s = d.createElement('script');
    s.async = true;
    s.src = url;
    (d.head || d.documentElement).appendChild(s);
  };
  'init identify track page reset show on off'.split(' ').forEach((m) => {
    stub[m] = function () {
      // eslint-disable-next-line prefer-rest-params
      const a: unknown[] = [].slice.call(arguments);
      q.push([m, a]);
      if (token && m === 'init') {
        const t = token[1];
        token = null; // a second init must not start a second builder
        const host = ((a[1] || {}) as { apiHost?: string }).apiHost || '';
        fetch(host + '/api/v1/builder/session?token=' + t, { headers: { 'X-Wayline-Key': String(a[0]) } })
          .then((r) =>
            r.json().then((s) => {
              if (r.ok) {
                w.waylineBuilder = { key: a[0], apiHost: host, session: s };
                load(s.bundle_url);
              } else if (w.opener) w.opener.postMessage({ wayline: 'refused', detail: s.detail }, '*');
            }),
          )
          .catch(() => 0);
      }
    };
  });
  w.wayline = stub;
  if (!token) load(src);
})(window, document, '__WAYLINE_BUNDLE_URL__');
