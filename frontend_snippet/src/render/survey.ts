// NPS (0–10) or CSAT (1–5) survey with an optional follow-up question.
// The scale is a group of native radio inputs: arrow keys, roving focus and semantics come free.
import { safe } from '../util';
import type { Ctx, Handle } from './context';
import { button, card, dialogKeys, h, keepFocus, on } from './dom';

export function renderSurvey(c: Ctx): Handle {
  const { g, ui } = c;
  const ct = g.content;
  const nps = ct.kind !== 'csat';
  const restore = keepFocus();
  const qId = ui.id();
  const textId = ui.id();
  let score = -1;
  let submitted = false;
  let timer = 0;

  const scale = h('div', 'wl-scale', { role: 'radiogroup', 'aria-labelledby': qId });
  for (let v = nps ? 0 : 1; v <= (nps ? 10 : 5); v++) {
    const input = h('input', 'wl-sr', { type: 'radio', name: qId, value: '' + v });
    on(input, 'change', () => {
      score = v;
      submit.disabled = false;
      if (follow) follow.hidden = false;
    });
    scale.append(h('label', '', null, input, h('span', 'wl-btn wl-2', null, '' + v)));
  }
  const text = h('textarea', 'wl-text', { id: textId, rows: '3' });
  const follow = ct.follow_up_question
    ? h('div', '', null, h('label', 'wl-label', { for: textId }, ct.follow_up_question), text)
    : null;
  if (follow) follow.hidden = true;
  const submit = button('Submit', '', () => {
    if (submitted || score < 0) return;
    submitted = true;
    const comment = text.value.trim();
    c.emit('survey_submitted', { kind: nps ? 'nps' : 'csat', score, ...(comment && { comment }) });
    c.emit('guide_completed');
    const thanks = h('p', 'wl-h', { role: 'status', tabindex: '-1' }, ct.thank_you || 'Thank you!');
    box.replaceChildren(box.firstChild!, thanks);
    thanks.focus();
    timer = setTimeout(safe(() => c.end()), 4000) as unknown as number;
  });
  submit.disabled = true;
  const close = () => c.end(submitted ? undefined : 'dismissed');
  const box = card(
    'wl-survey',
    qId + 'h',
    ct.question || '',
    { role: 'dialog', 'aria-modal': 'true' },
    ['Close survey', close],
    scale,
    follow,
    h('div', 'wl-foot', null, h('span', 'wl-n'), submit),
  );
  const back = g.modal ? h('div', 'wl-back') : null;

  dialogKeys(box, true, close);
  ui.layer.append(...[back, box].filter((x): x is HTMLDivElement => !!x));
  c.shown();
  box.focus();
  return {
    remove() {
      clearTimeout(timer);
      box.remove();
      if (back) back.remove();
      restore();
    },
  };
}
