// A tiny stand-in for the Django API, for the harness and the smoke run: serves the harness with
// the loader inlined, the built bundle, and /api/v1/{identify,content,events} with canned guides.
// Usage: node test/fake-server.mjs [port]   then open http://127.0.0.1:PORT/
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const file = (p) => readFileSync(join(root, p), 'utf8');

const common = { version: 1, priority: 10, modal: false, frequency: { type: 'until_done', max_times: null }, state: { seen_count: 0, dismissed: false, completed: false }, goal_event: null, experiment: null };
const step = (id, selector, title, extra = {}) => ({ id, selector, title, body_html: `<p>Step <b>${id}</b> body with a <a href="https://example.com/docs">link</a> and <a href="javascript:alert(1)">bad link</a><img src=x onerror=alert(1)>.</p>`, placement: 'auto', advance: 'next', advance_event: null, wait_timeout_ms: 1500, modal: false, ...extra });

export const GUIDES = {
  tour: { ...common, id: 1, type: 'tour', name: 'Welcome tour', priority: 30, experiment: { id: 4, variant: 'treatment' }, trigger: { type: 'page_load', selector: null, event: null },
    content: { on_missing_target: 'skip', steps: [
      step(11, '#connect', 'Connect an integration', { placement: 'bottom' }),
      step(12, '#missing-element', 'Never shown'),
      step(13, '#deep-target', 'Inside a scrolled container', { placement: 'right' }),
      step(14, '#shadow-target', 'Inside a shadow root', { modal: true }),
    ] } },
  checklist: { ...common, id: 2, type: 'checklist', name: 'Onboarding', priority: 5, trigger: { type: 'page_load', selector: null, event: null },
    content: { title: 'Get started', dismissible: true, items: [
      { id: 21, title: 'Connect an integration', description_html: '<p>Hook up <strong>Slack</strong>.</p>', completion: 'event', completion_event: 'integration_connected', completion_tour_id: null, completion_url: null, cta_label: 'Connect', cta_action: 'tour', cta_url: null, cta_tour_id: 1, completed: false },
      { id: 22, title: 'Take the tour', description_html: '', completion: 'tour', completion_event: null, completion_tour_id: 1, completion_url: null, cta_label: null, cta_action: 'none', cta_url: null, cta_tour_id: null, completed: false },
      { id: 23, title: 'Visit settings', description_html: '<p>Review your settings.</p>', completion: 'url', completion_event: null, completion_tour_id: null, completion_url: '/settings', cta_label: 'Open settings', cta_action: 'url', cta_url: '/settings', cta_tour_id: null, completed: false },
    ] } },
  bar: { ...common, id: 3, type: 'bar', name: 'Launch bar', priority: 20, trigger: { type: 'page_load', selector: null, event: null },
    content: { message_html: '<p><strong>New:</strong> connect Slack in one click.</p>', position: 'top', push_content: true, dismissible: true, style: 'brand', buttons: [{ label: 'Connect now', action: 'tour', url: null, tour_id: 1 }, { label: 'Later', action: 'dismiss', url: null, tour_id: null }] } },
  survey: { ...common, id: 4, type: 'survey', name: 'NPS', priority: 40, modal: true, trigger: { type: 'event', selector: null, event: 'survey_now' },
    content: { kind: 'nps', question: 'How likely are you to recommend Acme to a friend?', follow_up_question: "What's the main reason?", thank_you: 'Thanks for your feedback!' } },
  dialogTour: { ...common, id: 5, type: 'tour', name: 'Dialog tour', priority: 1, trigger: { type: 'manual', selector: null, event: null },
    content: { on_missing_target: 'stop', steps: [step(51, '#dialog-target', 'Inside a modal dialog')] } },
};

export function startServer(port = 0) {
  const state = { events: [], identifies: [], content: [], beacons: 0, only: null };
  const server = createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const cors = { 'Access-Control-Allow-Origin': '*', 'Access-Control-Allow-Headers': 'X-Wayline-Key, Content-Type', 'Access-Control-Allow-Methods': 'GET, POST' };
    const json = (status, body) => {
      res.writeHead(status, { ...cors, 'Content-Type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method === 'OPTIONS') return res.writeHead(204, cors), res.end();
    if (url.pathname === '/wayline.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return res.end(file('dist/wayline.js'));
    }
    if (!url.pathname.startsWith('/api/')) {
      const loader = file('dist/loader.js').replace('__WAYLINE_BUNDLE_URL__', '/wayline.js');
      res.writeHead(200, { 'Content-Type': 'text/html' });
      return res.end(file('test/harness.html').replace('/*LOADER*/', loader));
    }
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const key = req.headers['x-wayline-key'] || url.searchParams.get('key');
      if (key !== 'wl_pk_test') return json(401, { detail: 'bad key' });
      if (url.pathname === '/api/v1/identify') {
        state.identifies.push(JSON.parse(body));
        return json(200, { user_id: JSON.parse(body).user_id, stage: 'onboarding' });
      }
      if (url.pathname === '/api/v1/events') {
        if (!req.headers['x-wayline-key']) state.beacons++;
        const events = JSON.parse(body).events;
        state.events.push(...events);
        return json(202, { accepted: events.length, duplicates: 0, rejected: [] });
      }
      if (url.pathname === '/api/v1/content') {
        const q = Object.fromEntries(url.searchParams);
        state.content.push(q);
        const path = new URL(q.url).pathname;
        const only = new URL(q.url).searchParams.get('only');
        let guides = path === '/other' ? [] : [GUIDES.survey, GUIDES.tour, GUIDES.bar, GUIDES.checklist];
        if (only) guides = only.split(',').map((k) => GUIDES[k]);
        if (q.guide_id) guides = Object.values(GUIDES).filter((g) => String(g.id) === q.guide_id);
        const preview = !!q.preview;
        return json(200, { config_version: 7, preview, theme: { primary_color: '#4f46e5', text_color: '#111827', background_color: '#ffffff', font_family: 'system-ui, sans-serif', border_radius: 8 }, guides });
      }
      json(404, { detail: 'not found' });
    });
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve({ server, state, port: server.address().port })));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { port } = await startServer(Number(process.argv[2] || 8765));
  console.log(`harness on http://127.0.0.1:${port}/  (?only=tour,bar  ?hostile=1  ?wayline_preview=tok)`);
}
