// What a renderer gets from the client, and what it hands back.
import type { Guide, Props } from '../types';
import type { Root } from './root';

/** Public event names; the server name is "$" + name ("$guide_step_viewed" for step_viewed). */
export type GuideEvent =
  | 'guide_shown'
  | 'guide_completed'
  | 'guide_dismissed'
  | 'cta_clicked'
  | 'step_viewed'
  | 'survey_submitted'
  | 'checklist_item_completed'
  | 'guide_render_failed';

export interface Ctx {
  g: Guide;
  ui: Root;
  /** Reports the guide shown, once, when something is actually drawn. */
  shown(): void;
  /** Emits a guide event; guide_id is added. */
  emit(name: GuideEvent, props?: Props): void;
  /** Ends the guide: emits guide_completed / guide_dismissed (with props) when given, then removes it. */
  end(outcome?: 'completed' | 'dismissed', props?: Props): void;
  /** Performs a call-to-action: opens a URL or starts a tour. */
  act(action: string, url: string | null, tourId: number | null): void;
}

export interface Handle {
  remove(): void;
  /** Something happened in the page: a tracked event, a finished tour, a URL change. */
  notify?(kind: 'event' | 'tour' | 'url', value: string | number): void;
}
