// Builder entry (dist/builder.js): loaded by the loader only after the server accepted the page's
// builder token, with the session it answered in window.waylineBuilder.
import { debug } from '../util';
import { startPicker } from './picker';
import { startPreview } from './preview';
import { pickSaver, replyTo } from './session';
import type { Handoff } from './session';
import { createUi } from './ui';

(function (w: Window & { waylineBuilder?: Handoff & { on?: boolean } }) {
  const handoff = w.waylineBuilder;
  if (!handoff || handoff.on) return;
  handoff.on = true;
  const start = () => {
    try {
      const s = handoff.session;
      const ui = createUi(s.theme);
      const reply = replyTo(w, s);
      if (s.mode === 'preview') startPreview(ui, s, reply);
      else startPicker(ui, reply, pickSaver(w, handoff));
      reply({ wayline: 'ready', mode: s.mode });
    } catch (e) {
      debug(e);
    }
  };
  if (document.body) start();
  else document.addEventListener('DOMContentLoaded', start);
})(window);
