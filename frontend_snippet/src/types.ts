// Shapes of the pinned server contract (see README "Server contract").

export type Props = Record<string, unknown>;

export interface WlEvent {
  id: string;
  name: string;
  user_id?: string;
  user_hash?: string;
  anonymous_id?: string;
  timestamp: string;
  properties: Props;
  url: string;
  session_id: string;
}

export interface Theme {
  primary_color?: string;
  text_color?: string;
  background_color?: string;
  font_family?: string;
  border_radius?: number;
}

export interface TourStep {
  id: number;
  selector: string | null;
  title: string;
  body_html: string;
  placement: 'auto' | 'top' | 'bottom' | 'left' | 'right';
  advance: 'next' | 'click' | 'event';
  advance_event: string | null;
  wait_timeout_ms: number;
  modal: boolean;
}

export interface ChecklistItem {
  id: number;
  title: string;
  description_html: string;
  completion: 'event' | 'tour' | 'url';
  completion_event: string | null;
  completion_tour_id: number | null;
  completion_url: string | null;
  cta_label: string | null;
  cta_action: 'none' | 'url' | 'tour';
  cta_url: string | null;
  cta_tour_id: number | null;
  completed: boolean;
}

export interface BarButton {
  label: string;
  action: 'url' | 'tour' | 'dismiss';
  url: string | null;
  tour_id: number | null;
}

export interface Guide {
  id: number;
  version: number;
  type: 'tour' | 'checklist' | 'bar' | 'survey';
  name: string;
  priority: number;
  modal: boolean;
  trigger: { type: 'page_load' | 'element' | 'event' | 'manual'; selector: string | null; event: string | null };
  frequency: { type: string; max_times: number | null };
  state: { seen_count: number; dismissed: boolean; completed: boolean };
  goal_event: string | null;
  experiment: { id: number; variant: string } | null;
  // Content depends on `type`; renderers read the fields they need.
  content: {
    steps?: TourStep[];
    on_missing_target?: 'skip' | 'stop';
    title?: string;
    items?: ChecklistItem[];
    dismissible?: boolean;
    message_html?: string;
    position?: 'top' | 'bottom';
    push_content?: boolean;
    style?: 'info' | 'success' | 'warning' | 'brand';
    buttons?: BarButton[];
    kind?: 'nps' | 'csat';
    question?: string;
    follow_up_question?: string | null;
    thank_you?: string;
  };
}

export interface Content {
  config_version: number;
  preview: boolean;
  theme?: Theme;
  guides: Guide[];
}
