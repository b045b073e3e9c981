"""The JSON a published guide freezes into: what the snippet renders, plus its targeting."""
from onboarding.models import Guide

MODAL_KINDS = frozenset({Guide.Kind.TOUR, Guide.Kind.SURVEY})


def _iso(value) -> str | None:
    return value.isoformat() if value else None


def _tour_content(guide: Guide) -> dict:
    return {
        "steps": [
            {
                "id": step.id,
                "selector": step.selector,
                "title": step.title,
                "body_html": step.body,
                "placement": step.placement,
                "advance": step.advance,
                "advance_event": step.advance_event or None,
                "wait_timeout_ms": step.wait_timeout_ms,
                "modal": step.modal,
            }
            for step in guide.steps.all()
        ],
        "on_missing_target": guide.on_missing_target,
    }


def _checklist_content(guide: Guide) -> dict:
    return {
        "title": guide.checklist_title or guide.name,
        "items": [
            {
                "id": item.id,
                "title": item.title,
                "description_html": item.description,
                "completion": item.completion,
                "completion_event": item.completion_event or None,
                "completion_tour_id": item.completion_tour_id,
                "completion_url": item.completion_url or None,
                "cta_label": item.cta_label or None,
                "cta_action": item.cta_action,
                "cta_url": item.cta_url or None,
                "cta_tour_id": item.cta_tour_id,
            }
            for item in guide.items.all()
        ],
        "dismissible": guide.dismissible,
    }


def _bar_content(guide: Guide) -> dict:
    return {
        "message_html": guide.bar_message,
        "position": guide.bar_position,
        "push_content": guide.bar_push_content,
        "dismissible": guide.dismissible,
        "style": guide.bar_style,
        "buttons": [
            {"label": button.label, "action": button.action, "url": button.url or None, "tour_id": button.tour_id}
            for button in guide.buttons.all()
        ],
    }


def _survey_content(guide: Guide) -> dict:
    return {
        "kind": guide.survey_kind,
        "question": guide.survey_question,
        "follow_up_question": guide.survey_follow_up_question or None,
        "thank_you": guide.survey_thank_you,
    }


CONTENT_BUILDERS = {
    Guide.Kind.TOUR: _tour_content,
    Guide.Kind.CHECKLIST: _checklist_content,
    Guide.Kind.BAR: _bar_content,
    Guide.Kind.SURVEY: _survey_content,
}


def guide_payload(guide: Guide, *, version: int) -> dict:
    """Build the frozen JSON of ``guide`` as it is now (the draft)."""
    return {
        "id": guide.id,
        "version": version,
        "type": guide.kind,
        "name": guide.name,
        "priority": guide.priority,
        "modal": guide.kind in MODAL_KINDS,
        "trigger": {
            "type": guide.trigger,
            "selector": guide.trigger_selector or None,
            "event": guide.trigger_event or None,
        },
        "frequency": {"type": guide.frequency, "max_times": guide.max_times},
        "goal_event": guide.goal_event or None,
        "content": CONTENT_BUILDERS[guide.kind](guide),
        "targeting": {
            "stages": sorted(stage.slug for stage in guide.stages.all()),
            "segment_id": guide.segment_id,
            "device": guide.device,
            "url_rules": [
                {"match_type": rule.match_type, "pattern": rule.pattern, "exclude": rule.exclude}
                for rule in guide.url_rules.all()
            ],
            "starts_at": _iso(guide.starts_at),
            "ends_at": _iso(guide.ends_at),
        },
    }


def comparable(payload: dict) -> dict:
    """The payload without its version number, to tell whether a draft differs from what is live."""
    return {key: value for key, value in payload.items() if key != "version"}
