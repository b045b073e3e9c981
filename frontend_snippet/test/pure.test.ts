// Pure helpers: URL matching, the content query, theme variables, ids, storage fallback.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { contentPath } from '../src/api.ts';
import { themeVars } from '../src/theme.ts';
import { samePage } from '../src/url.ts';
import { safeStore, uuid } from '../src/util.ts';

test('test_samePage__relative_target_on_matching_path__true', () => {
  assert.equal(samePage('/settings', 'https://app.example.com/settings?tab=1#x'), true);
  assert.equal(samePage('/settings/', 'https://app.example.com/settings'), true);
  assert.equal(samePage('https://app.example.com/settings', 'https://app.example.com/settings'), true);
});

test('test_samePage__other_path_or_origin__false', () => {
  assert.equal(samePage('/settings', 'https://app.example.com/settings/billing'), false);
  assert.equal(samePage('https://other.example.com/settings', 'https://app.example.com/settings'), false);
  assert.equal(samePage('', 'https://app.example.com/'), true); // empty resolves to the page itself
  assert.equal(samePage('/x', 'not a url'), false);
});

test('test_contentPath__undefined_params__left_out_and_values_encoded', () => {
  const p = contentPath({ user_id: 'u 1', url: 'https://a.example/x?y=1&z=2', device: 'mobile', session_id: 's', preview: undefined });
  assert.equal(p, 'content?user_id=u+1&url=https%3A%2F%2Fa.example%2Fx%3Fy%3D1%26z%3D2&device=mobile&session_id=s');
});

test('test_themeVars__full_theme__css_variables', () => {
  assert.deepEqual(
    themeVars({ primary_color: '#4f46e5', text_color: '#111827', background_color: '#fff', font_family: 'Inter', border_radius: 0 }),
    [
      ['--wl-p', '#4f46e5'],
      ['--wl-t', '#111827'],
      ['--wl-bg', '#fff'],
      ['--wl-f', 'Inter'],
      ['--wl-r', '0px'],
    ],
  );
});

test('test_themeVars__missing_or_null_theme__no_variables', () => {
  assert.deepEqual(themeVars(null), []);
  assert.deepEqual(themeVars({ border_radius: NaN }), []);
});

test('test_uuid__fallback_without_randomUUID__valid_v4', () => {
  const orig = crypto.randomUUID;
  Object.defineProperty(crypto, 'randomUUID', { value: undefined, configurable: true });
  try {
    const ids = new Set(Array.from({ length: 200 }, uuid));
    assert.equal(ids.size, 200);
    for (const id of ids) assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  } finally {
    Object.defineProperty(crypto, 'randomUUID', { value: orig, configurable: true });
  }
});

test('test_safeStore__storage_unavailable__falls_back_to_memory', () => {
  const s = safeStore(() => {
    throw new Error('SecurityError');
  });
  s.setItem('wl_a', '1');
  assert.equal(s.getItem('wl_a'), '1');
  assert.deepEqual(s.keys(), ['wl_a']);
  s.removeItem('wl_a');
  assert.equal(s.getItem('wl_a'), null);
});

test('test_safeStore__quota_exceeded__keeps_value_in_memory', () => {
  const data: Record<string, string> = {};
  const full = {
    getItem: (k: string) => data[k] ?? null,
    setItem: (k: string, v: string) => {
      if (k !== 'wl_t') throw new Error('QuotaExceededError');
      data[k] = v;
    },
    removeItem: (k: string) => delete data[k],
  } as unknown as Storage;
  const s = safeStore(() => full);
  s.setItem('wl_q', 'x');
  assert.equal(s.getItem('wl_q'), 'x');
});
