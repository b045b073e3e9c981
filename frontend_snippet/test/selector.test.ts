// The builder's selector strategy on parsed documents (linkedom): stable anchors first, generated
// ids and hashed classes refused, uniqueness checked, structural fallback, live match count.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHTML } from 'linkedom';
import { cssIdent, describe, isGeneratedId, isHashedClass, isStableClass, matchCount, propose } from '../src/builder/selector.ts';

const page = (body: string) => parseHTML(`<!doctype html><html><body>${body}</body></html>`).document as unknown as Document;

/** Proposes a selector for the element marked data-pick (the mark is removed first). */
function pick(body: string) {
  const d = page(body);
  const el = d.querySelector('[data-pick]')!;
  el.removeAttribute('data-pick');
  const p = propose(el);
  const matches = Array.from(d.querySelectorAll(p.selector));
  return { ...p, matchesOnlyIt: matches.length === 1 && matches[0] === el };
}

const GENERATED_IDS = [':r3:', 'ember123', 'headlessui-menu-button-5', 'btn-4f9a2c1e', 'mui-28934', 'react-select-2-input', '123'];
for (const id of GENERATED_IDS)
  test(`test_isGeneratedId__${id}__true`, () => assert.equal(isGeneratedId(id), true));
for (const id of ['connect-integration', 'page-title', 'main', 'settings_form', 'save'])
  test(`test_isGeneratedId__${id}__false`, () => assert.equal(isGeneratedId(id), false));

const HASHED = ['css-1x2y3z', 'sc-bdVaJa', 'kPqRst', 'Button_primary__3kH9a', 'jsx-2739612', 'svelte-1xy2z', 'a8f3c9d2'];
for (const c of HASHED) test(`test_isHashedClass__${c}__true`, () => assert.equal(isHashedClass(c), true));
for (const c of ['btn', 'btn-primary', 'sidebar', 'chat-widget', 'MuiButton-root', 'col-2', 'navItem'])
  test(`test_isHashedClass__${c}__false`, () => assert.equal(isHashedClass(c), false));

test('test_isStableClass__state_utility_and_own_classes__false', () => {
  for (const c of ['active', 'is-open', 'hover:bg-blue-500', 'w-[200px]', 'wl-outline']) assert.equal(isStableClass(c), false, c);
  assert.equal(isStableClass('toolbar'), true);
});

test('test_cssIdent__leading_digit_and_punctuation__escaped_and_matches', () => {
  const d = page('<b id="1st:item"></b>');
  assert.equal(cssIdent('1st:item'), '\\31 st\\:item');
  assert.equal(d.querySelectorAll('#' + cssIdent('1st:item')).length, 1);
});

test('test_propose__test_attribute_beside_hashed_classes_and_generated_id__test_attribute', () => {
  const p = pick('<div class="css-1x2y3z"><button id="btn-4f9a2c1e" class="sc-bdVaJa Button_primary__3kH9a" data-testid="save-draft" data-pick>Save</button></div>');
  assert.equal(p.selector, '[data-testid="save-draft"]');
  assert.equal(p.fragility, 'low');
  assert.equal(p.matchesOnlyIt, true);
});

test('test_propose__handwritten_id__id', () => {
  const p = pick('<button id="connect-integration" class="btn" data-pick>Connect</button><button class="btn">Other</button>');
  assert.deepEqual([p.selector, p.strategy, p.fragility], ['#connect-integration', 'id', 'low']);
});

test('test_propose__generated_id_and_aria_label__label_not_id', () => {
  const p = pick('<button id=":r7:" class="css-9zz8aa" aria-label="Delete draft" data-pick>🗑</button><button aria-label="Archive">x</button>');
  assert.equal(p.selector, 'button[aria-label="Delete draft"]');
  assert.equal(p.fragility, 'medium');
  assert.equal(p.matchesOnlyIt, true);
});

test('test_propose__only_hashed_and_stable_classes__stable_class_only', () => {
  const p = pick('<nav><a class="sc-kPqRst Nav_link__x9Yb2 nav-billing" data-pick>Billing</a><a class="sc-kPqRst Nav_link__x9Yb2 nav-home">Home</a></nav>');
  assert.equal(p.selector, 'a.nav-billing');
  assert.doesNotMatch(p.selector, /sc-|__/);
  assert.equal(p.matchesOnlyIt, true);
});

test('test_propose__duplicated_test_attribute__scoped_inside_stable_ancestor', () => {
  const p = pick(
    '<section data-tour="billing"><button data-testid="edit">Edit</button></section>' +
      '<section data-tour="profile"><button data-testid="edit" data-pick>Edit</button></section>',
  );
  assert.equal(p.selector, '[data-tour="profile"] [data-testid="edit"]');
  assert.equal(p.matchesOnlyIt, true);
});

test('test_propose__nothing_stable_inside_anchor__position_inside_anchor', () => {
  const p = pick('<ul id="plans"><li><span class="css-aa11bb">A</span></li><li><span class="css-aa11bb" data-pick>B</span></li></ul>');
  assert.equal(p.selector, '#plans > li:nth-of-type(2) > span');
  assert.equal(p.fragility, 'high');
  assert.equal(p.matchesOnlyIt, true);
});

test('test_propose__nothing_stable_anywhere__structural_path_from_body', () => {
  const p = pick('<div class="css-1a2b3c"><div><i>x</i><i data-pick>y</i></div></div><div></div>');
  assert.equal(p.selector, 'body > div:nth-of-type(1) > div > i:nth-of-type(2)');
  assert.equal(p.strategy, 'position in the page');
  assert.equal(p.matchesOnlyIt, true);
});

test('test_propose__attribute_value_with_quotes__escaped_and_matches', () => {
  const p = pick('<button aria-label=\'Say "hi"\' data-pick>hi</button>');
  assert.equal(p.selector, 'button[aria-label="Say \\"hi\\""]');
  assert.equal(p.matchesOnlyIt, true);
});

test('test_matchCount__valid_ambiguous_and_invalid__counts_or_minus_one', () => {
  const d = page('<p class="a"></p><p class="a"></p>');
  assert.equal(matchCount(d, 'p.a'), 2);
  assert.equal(matchCount(d, '#none'), 0);
  assert.equal(matchCount(d, 'p[['), -1);
  assert.equal(matchCount(d, '   '), -1);
});

test('test_describe__label_text_and_long_text__short_label', () => {
  const d = page('<button aria-label="Open chat">💬</button><p>  Hello\n  world </p><div></div><span>' + 'x'.repeat(80) + '</span>');
  assert.equal(describe(d.querySelector('button')!), 'Open chat');
  assert.equal(describe(d.querySelector('p')!), 'Hello world');
  assert.equal(describe(d.querySelector('div')!), '<div>');
  assert.equal(describe(d.querySelector('span')!).length, 60);
});
