// Manual smoke run (not part of `npm test`): the harness against the fake API in headless Chromium.
// Usage: node test/smoke.mjs  (needs `npm run build` and a system Chromium at /usr/bin/chromium)
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { chromium } from 'playwright-core';
import { startServer } from './fake-server.mjs';

const require = createRequire(import.meta.url);
const axeSource = readFileSync(require.resolve('axe-core/axe.min.js'), 'utf8');
const { server, state, port } = await startServer(0);
const base = `http://127.0.0.1:${port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
});
let failures = 0;
const check = (ok, what) => {
  console.log(`${ok ? 'ok  ' : 'FAIL'} ${what}`);
  if (!ok) failures++;
};
const shots = process.env.SHOTS || '/tmp';

async function open(path, viewport = { width: 1280, height: 800 }) {
  const page = await browser.newPage({ viewport });
  const problems = [];
  page.on('console', (m) => ['error', 'warning'].includes(m.type()) && problems.push(m.text()));
  page.on('pageerror', (e) => problems.push(String(e)));
  await page.goto(base + path);
  return { page, problems };
}
const names = () => state.events.map((e) => e.name);
const axe = async (page) => {
  await page.addScriptTag({ content: axeSource });
  const r = await page.evaluate(() => window.axe.run({ include: [['#wayline-root']] }));
  return r.violations.filter((v) => ['serious', 'critical'].includes(v.impact)).map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(' ')}`);
};

try {
  // 1. Tour: waits for targets, skips a missing one, scrolled container, shadow root, modal step.
  {
    const { page, problems } = await open('/?only=tour');
    const tip = page.locator('.wl-card[role=dialog]');
    await tip.waitFor();
    check((await tip.textContent()).includes('Step 1 of 4'), 'tour step 1 drawn with "Step 1 of 4"');
    const focused = await page.evaluate(() => document.activeElement.id);
    check(focused === 'wayline-root', 'focus moved into the tooltip');
    check((await axe(page)).length === 0, 'axe: tooltip has no serious/critical violation ' + (await axe(page)).join('; '));
    await page.screenshot({ path: `${shots}/wl-tour-1.png` });
    await page.keyboard.press('Tab');
    await page.locator('.wl-btn:text("Next")').click();
    await page.locator('.wl-card:has-text("Inside a scrolled container")').waitFor({ timeout: 5000 });
    const tb = await page.locator('.wl-card').boundingBox();
    const db = await page.locator('#deep-target').boundingBox();
    check(Math.abs(tb.y + tb.height / 2 - (db.y + db.height / 2)) < 40 && tb.x > db.x + db.width, 'step 3 placed right of the target in the scrolled container');
    await page.screenshot({ path: `${shots}/wl-tour-3.png` });
    await page.locator('.wl-btn:text("Next")').click();
    await page.locator('.wl-card:has-text("Inside a shadow root")').waitFor();
    check((await page.locator('.wl-card[aria-modal=true]').count()) === 1 && (await page.locator('.wl-spot').count()) === 1, 'modal step: aria-modal + spotlight');
    for (let i = 0; i < 6; i++) await page.keyboard.press('Tab');
    const inside = await page.evaluate(() => !!document.getElementById('wayline-root').shadowRoot.activeElement);
    check(inside, 'focus trapped inside the modal step');
    await page.screenshot({ path: `${shots}/wl-tour-4.png` });
    await page.locator('.wl-btn:text("Done")').click();
    await page.waitForTimeout(2500);
    const n = names();
    check(n.includes('$pageview') && n.includes('$guide_shown') && n.filter((x) => x === '$guide_step_viewed').length === 3 && n.includes('$guide_render_failed') && n.includes('$guide_completed'), 'events: ' + n.join(','));
    const shown = state.events.find((e) => e.name === '$guide_shown');
    check(shown.properties.experiment_id === 4 && shown.properties.variant === 'treatment' && shown.user_id === 'user-1', 'guide_shown carries experiment and user id');
    const failed = state.events.find((e) => e.name === '$guide_render_failed');
    check(failed.properties.step_index === 1 && failed.properties.reason === 'target_not_found', 'render_failed has step_index 1');
    check(state.identifies[0].account.id === 'acme' && state.identifies[0].anonymous_id, 'identify sent account and anonymous id');
    check(problems.length === 0, 'no console errors: ' + problems.join(' | '));
    await page.close();
  }
  // 2. Everything at once: bar pushes content, checklist, tour, then a survey; SPA navigation.
  {
    state.events.length = 0;
    const { page, problems } = await open('/');
    await page.locator('.wl-bar').waitFor();
    await page.locator('.wl-card[role=dialog]').waitFor();
    const pad = await page.evaluate(() => getComputedStyle(document.documentElement).paddingTop);
    const barH = await page.locator('.wl-bar').evaluate((b) => b.offsetHeight);
    check(pad === barH + 'px', `bar pushes content (padding-top ${pad}, bar ${barH}px)`);
    check((await page.locator('.wl-launch').textContent()).includes('0/3'), 'checklist launcher shows 0/3');
    const v = await axe(page);
    check(v.length === 0, 'axe: bar + checklist + tooltip ' + v.join('; '));
    await page.screenshot({ path: `${shots}/wl-all.png` });
    await page.keyboard.press('Escape');
    check((await page.locator('.wl-card[role=dialog]').count()) === 0, 'Escape dismissed the tour');
    await page.locator('.wl-launch').click();
    await page.evaluate(() => wayline.track('integration_connected'));
    check((await page.locator('.wl-launch').textContent()).includes('1/3'), 'checklist ticks on tracked event');
    await page.locator('a:text("Settings")').click();
    await page.waitForTimeout(300);
    check((await page.locator('.wl-launch').textContent()).includes('2/3'), 'checklist ticks on URL after SPA navigation');
    check((await axe(page)).length === 0, 'axe: open checklist panel');
    await page.screenshot({ path: `${shots}/wl-checklist.png` });
    await page.evaluate(() => wayline.track('survey_now'));
    const sv = page.locator('.wl-survey');
    await sv.waitFor();
    check((await axe(page)).length === 0, 'axe: survey ' + (await axe(page)).join('; '));
    await page.locator('.wl-scale label').nth(9).click();
    await page.keyboard.press('ArrowRight');
    await page.locator('textarea').fill('Great onboarding');
    await page.screenshot({ path: `${shots}/wl-survey.png` });
    await page.locator('.wl-btn:text("Submit")').click();
    check((await sv.textContent()).includes('Thanks for your feedback!'), 'survey thank-you shown');
    await page.locator('a:text("Other")').click();
    await page.waitForTimeout(400);
    check((await page.locator('.wl-bar, .wl-launch').count()) === 0, 'guides not returned on /other are removed');
    const pad2 = await page.evaluate(() => getComputedStyle(document.documentElement).paddingTop);
    check(pad2 === '0px', 'padding restored after the bar is removed');
    await page.waitForTimeout(2500);
    const s = state.events.find((e) => e.name === '$survey_submitted');
    check(s && s.properties.score === 10 && s.properties.comment === 'Great onboarding' && s.properties.kind === 'nps', 'survey_submitted ' + JSON.stringify(s && s.properties));
    check(state.events.filter((e) => e.name === '$pageview').length === 3, '3 pageviews (load + 2 SPA navigations)');
    check(new Set(state.events.map((e) => e.id)).size === state.events.length, 'no event id sent twice');
    const pub = await page.evaluate(() => window.waylineEvents.map((e) => e[0]));
    check(pub.includes('survey_submitted') && pub.includes('checklist_item_completed') && pub.includes('guide_dismissed'), 'public on() handlers fired: ' + pub.join(','));
    check(problems.length === 0, 'no console errors: ' + problems.join(' | '));
    await page.close();
  }
  // 3. Hostile host CSS, 375 px wide.
  {
    const { page, problems } = await open('/?hostile=1&only=tour,bar,checklist', { width: 375, height: 700 });
    await page.locator('.wl-card[role=dialog]').waitFor();
    const box = await page.locator('.wl-card[role=dialog]').boundingBox();
    check(box && box.width > 200 && box.x >= 0 && box.x + box.width <= 375, `tooltip fits 375px under hostile CSS (${JSON.stringify(box)})`);
    await page.screenshot({ path: `${shots}/wl-hostile-375.png` });
    check(problems.length === 0, 'no console errors: ' + problems.join(' | '));
    await page.close();
  }
  // 4. Preview: badge, no events.
  {
    state.events.length = 0;
    const { page, problems } = await open('/?wayline_preview=tok123&only=tour');
    await page.locator('.wl-card[role=dialog]').waitFor();
    check(await page.locator('.wl-preview').isVisible(), 'preview badge visible');
    check(state.content.at(-1).preview === 'tok123', 'preview token passed to content');
    await page.waitForTimeout(2500);
    await page.close();
    check(!state.events.some((e) => e.url.includes('wayline_preview')), 'preview sends no events');
    check(problems.length === 0, 'no console errors: ' + problems.join(' | '));
  }
  // 5. Target inside a modal <dialog> (top layer), via show().
  {
    const { page, problems } = await open('/?only=checklist');
    await page.locator('.wl-launch').waitFor();
    await page.locator('#open-dialog').click();
    await page.evaluate(() => wayline.show(5));
    await page.locator('.wl-card:has-text("Inside a modal dialog")').waitFor();
    const b = await page.locator('.wl-card[role=dialog]').boundingBox();
    const top = await page.evaluate(([x, y]) => document.elementFromPoint(x, y).id, [b.x + b.width / 2, b.y + b.height / 2]);
    check(top === 'wayline-root', 'tooltip renders above the modal dialog (top layer)');
    await page.locator('.wl-btn:text("Done")').click();
    await page.screenshot({ path: `${shots}/wl-dialog.png` });
    check(problems.length === 0, 'no console errors: ' + problems.join(' | '));
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
console.log(failures ? `${failures} check(s) failed` : 'all smoke checks passed');
process.exit(failures ? 1 : 0);
