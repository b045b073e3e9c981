// The install snippet: a queue stub for window.wayline plus an async <script> for the bundle.
// "__WAYLINE_BUNDLE_URL__" is replaced by the server when it renders the install tag.
(function (w: Window & { wayline?: unknown }, d: Document, src: string) {
  if (w.wayline) return;
  const q: unknown[] = [];
  const stub: Record<string, unknown> = { q };
  'init identify track page reset show on off'.split(' ').forEach((m) => {
    stub[m] = function () {
      // eslint-disable-next-line prefer-rest-params
      q.push([m, [].slice.call(arguments)]);
    };
  });
  w.wayline = stub;
  const s = d.createElement('script');
  s.async = true;
  s.src = src;
  (d.head || d.documentElement).appendChild(s);
})(window, document, '__WAYLINE_BUNDLE_URL__');
