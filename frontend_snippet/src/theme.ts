// Theme → CSS custom properties (styles.css derives the text colour on the primary colour).
import type { Theme } from './types';

/** CSS custom properties for a theme; missing values keep the stylesheet defaults. */
export function themeVars(theme?: Theme | null): string[][] {
  const t = theme || {};
  const r = t.border_radius;
  return [
    ['--wl-p', t.primary_color],
    ['--wl-t', t.text_color],
    ['--wl-bg', t.background_color],
    ['--wl-f', t.font_family],
    ['--wl-r', r != null && isFinite(r) ? r + 'px' : ''],
  ].filter((v): v is string[] => !!v[1]);
}
