"""State derived from the snippet's guide events: guide state, checklist progress, survey answers.

Properties read (as the snippet sends them):
    ``$guide_shown`` / ``$guide_dismissed`` / ``$guide_completed`` / ``$guide_render_failed``
        ``guide_id``. Shown: ``seen_count`` +1, first/last seen, ``last_session_id`` of the
        latest showing. Dismissed / completed: the first time it happened. Render failed: +1.
    ``$checklist_item_completed``  ``item_id`` (an item of one of the application's checklists).
    ``$survey_submitted``  ``guide_id`` (a survey), ``score`` (NPS 0–10, CSAT 1–5), ``comment``.
A checklist item is also completed by its own ``completion_event``, by ``$guide_completed`` of its
``completion_tour`` and by a ``$pageview`` whose ``url`` matches its ``completion_url`` (a glob when
it contains ``*``, a prefix otherwise; see ``onboarding.url_match``) — following the *published*
checklist, as the snippet shows it. Events naming guides or items of other applications are
ignored. Every write is an upsert whose effect depends only on the new events, so a replay that
carries no new events changes nothing.
"""
from __future__ import annotations

import logging
import threading
from collections import defaultdict
from dataclasses import dataclass

from django.db import connection

from analytics.ingest.bulk_sql import insert_rows
from analytics.models import ChecklistItemCompletion, SurveyResponse
from onboarding.models import Application, ChecklistItem, Guide
from onboarding.url_match import url_matches

logger = logging.getLogger("analytics")

GUIDE_STATE_EVENTS = frozenset({"$guide_shown", "$guide_dismissed", "$guide_completed", "$guide_render_failed"})
SURVEY_RANGES = {Guide.SurveyKind.NPS: (0, 10), Guide.SurveyKind.CSAT: (1, 5)}
MAX_COMMENT_LENGTH = 5000


def guide_events_apply(*, application_id: int, events: list[dict], stage_slugs: dict[int, str]) -> None:
    """Apply guide, checklist and survey events; ``stage_slugs`` maps user id to current stage slug."""
    guide_ids = {gid for event in events if event["name"].startswith("$") and (gid := _int(event, "guide_id"))}
    guides = (
        {
            guide_id: (kind, survey_kind)
            for guide_id, kind, survey_kind in Guide.objects.filter(
                application_id=application_id, id__in=sorted(guide_ids)
            ).values_list("id", "kind", "survey_kind")
        }
        if guide_ids
        else {}
    )
    _guide_states_upsert(events, guides)
    _checklist_completions_add(application_id, events)
    _survey_responses_add(application_id, events, guides, stage_slugs)


# --- guide state ----------------------------------------------------------------------------

def _min(column: str) -> str:
    old, new = f"analytics_guidestate.{column}", f"excluded.{column}"
    return f"CASE WHEN {old} IS NULL THEN {new} WHEN {new} IS NULL OR {old} <= {new} THEN {old} ELSE {new} END"


GUIDE_STATE_COLUMNS = (
    "user_id, guide_id, seen_count, first_seen_at, last_seen_at, last_session_id, dismissed_at, completed_at, "
    "render_failed_count"
)
# How a guide state folds into an existing one: counts add up, first times are the earliest, the last
# showing (and its session) the latest. Also used to merge an anonymous user into an identified one.
GUIDE_STATE_ON_CONFLICT = f"""
ON CONFLICT (user_id, guide_id) DO UPDATE SET
    seen_count = analytics_guidestate.seen_count + excluded.seen_count,
    first_seen_at = {_min("first_seen_at")},
    last_seen_at = CASE WHEN analytics_guidestate.last_seen_at IS NULL THEN excluded.last_seen_at
                        WHEN excluded.last_seen_at IS NULL OR analytics_guidestate.last_seen_at >= excluded.last_seen_at
                        THEN analytics_guidestate.last_seen_at ELSE excluded.last_seen_at END,
    last_session_id = CASE WHEN excluded.last_seen_at IS NOT NULL AND (analytics_guidestate.last_seen_at IS NULL
                                OR excluded.last_seen_at >= analytics_guidestate.last_seen_at)
                           THEN excluded.last_session_id ELSE analytics_guidestate.last_session_id END,
    dismissed_at = {_min("dismissed_at")},
    completed_at = {_min("completed_at")},
    render_failed_count = analytics_guidestate.render_failed_count + excluded.render_failed_count
"""
GUIDE_STATE_TYPES = ["bigint", "bigint", "integer", "timestamptz", "timestamptz", "varchar", "timestamptz",
                     "timestamptz", "integer"]


def _guide_states_upsert(events: list[dict], guides: dict[int, tuple[str, str]]) -> None:
    states: dict[tuple[int, int], dict] = {}
    for event in events:
        if event["name"] not in GUIDE_STATE_EVENTS:
            continue
        guide_id = _int(event, "guide_id")
        if guide_id not in guides:
            continue
        state = states.setdefault(
            (event["user_pk"], guide_id),
            {"seen": 0, "first": None, "last": None, "session": "", "dismissed": None, "completed": None, "failed": 0},
        )
        at = event["timestamp"]
        if event["name"] == "$guide_shown":
            state["seen"] += 1
            state["first"] = at if state["first"] is None else min(state["first"], at)
            if state["last"] is None or at >= state["last"]:
                state["last"], state["session"] = at, event["session_id"]
        elif event["name"] == "$guide_dismissed":
            state["dismissed"] = at if state["dismissed"] is None else min(state["dismissed"], at)
        elif event["name"] == "$guide_completed":
            state["completed"] = at if state["completed"] is None else min(state["completed"], at)
        else:
            state["failed"] += 1
    if not states:
        return
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (user_id, guide_id, s["seen"], adapt(s["first"]), adapt(s["last"]), s["session"], adapt(s["dismissed"]),
         adapt(s["completed"]), s["failed"])
        for (user_id, guide_id), s in sorted(states.items())
    ]
    insert_rows(
        table="analytics_guidestate", columns=GUIDE_STATE_COLUMNS.split(", "), types=GUIDE_STATE_TYPES, rows=rows,
        on_conflict=GUIDE_STATE_ON_CONFLICT,
    )


# --- checklists -----------------------------------------------------------------------------

@dataclass(frozen=True)
class ItemRule:
    id: int
    completion: str
    event: str | None
    tour_id: int | None
    url: str | None

    def completed_by(self, event: dict) -> bool:
        name = event["name"]
        if self.completion == ChecklistItem.Completion.EVENT:
            return bool(self.event) and name == self.event
        if self.completion == ChecklistItem.Completion.TOUR:
            return name == "$guide_completed" and self.tour_id is not None and _int(event, "guide_id") == self.tour_id
        if self.completion == ChecklistItem.Completion.URL and name == "$pageview" and self.url:
            return url_matches("glob" if "*" in self.url else "prefix", self.url, event["url"])
        return False


_rules_cache: dict[int, tuple[tuple, tuple[ItemRule, ...]]] = {}
_rules_lock = threading.Lock()


def checklist_item_rules(*, application_id: int) -> tuple[ItemRule, ...]:
    """The completion rules of the application's live checklists, cached by ``config_version``."""
    # The creation time tells apart an application that reuses a deleted one's id (SQLite does that).
    version = Application.objects.filter(pk=application_id).values_list("config_version", "created_at").first()
    cached = _rules_cache.get(application_id)
    if cached is not None and cached[0] == version:
        return cached[1]
    payloads = Guide.objects.filter(
        application_id=application_id, kind=Guide.Kind.CHECKLIST, live_version__isnull=False, archived_at__isnull=True
    ).values_list("live_version__payload", flat=True)
    items = [item for payload in payloads for item in (payload.get("content") or {}).get("items") or ()]
    existing = set(
        ChecklistItem.objects.filter(
            guide__application_id=application_id, id__in=[item.get("id") for item in items]
        ).values_list("id", flat=True)
    )
    rules = tuple(
        ItemRule(item["id"], item.get("completion") or "event", item.get("completion_event"),
                 item.get("completion_tour_id"), item.get("completion_url"))
        for item in items
        if item.get("id") in existing
    )
    with _rules_lock:
        _rules_cache[application_id] = (version, rules)
    return rules


def _checklist_completions_add(application_id: int, events: list[dict]) -> None:
    completions: dict[tuple[int, int], object] = {}

    def complete(user_id: int, item_id: int, at) -> None:
        key = (user_id, item_id)
        if key not in completions or at < completions[key]:
            completions[key] = at

    explicit = [event for event in events if event["name"] == "$checklist_item_completed" and _int(event, "item_id")]
    if explicit:
        ids = sorted({_int(event, "item_id") for event in explicit})
        known = set(
            ChecklistItem.objects.filter(guide__application_id=application_id, id__in=ids).values_list("id", flat=True)
        )
        for event in explicit:
            if _int(event, "item_id") in known:
                complete(event["user_pk"], _int(event, "item_id"), event["timestamp"])
    rules = checklist_item_rules(application_id=application_id)
    if rules:
        for event in events:
            for rule in rules:
                if rule.completed_by(event):
                    complete(event["user_pk"], rule.id, event["timestamp"])
    if completions:
        ChecklistItemCompletion.objects.bulk_create(
            [
                ChecklistItemCompletion(user_id=user_id, item_id=item_id, completed_at=at)
                for (user_id, item_id), at in sorted(completions.items())
            ],
            ignore_conflicts=True,
        )


# --- surveys --------------------------------------------------------------------------------

def _survey_responses_add(
    application_id: int, events: list[dict], guides: dict[int, tuple[str, str]], stage_slugs: dict[int, str]
) -> None:
    rows = []
    for event in events:
        if event["name"] != "$survey_submitted":
            continue
        guide_id = _int(event, "guide_id")
        guide_kind, kind = guides.get(guide_id, (None, None))
        score = event["properties"].get("score")
        low, high = SURVEY_RANGES.get(kind, (0, -1)) if guide_kind == Guide.Kind.SURVEY else (0, -1)
        if not isinstance(score, int) or isinstance(score, bool) or not low <= score <= high:
            logger.info(
                "survey.response_ignored",
                extra={"application_id": application_id, "event_id": event["id"], "guide_id": guide_id},
            )
            continue
        comment = event["properties"].get("comment")
        rows.append(
            SurveyResponse(
                application_id=application_id, guide_id=guide_id, user_id=event["user_pk"], event_id=event["id"],
                kind=kind, score=score, comment=comment[:MAX_COMMENT_LENGTH] if isinstance(comment, str) else "",
                stage_slug=stage_slugs.get(event["user_pk"], ""), responded_at=event["timestamp"],
            )
        )
    if rows:
        SurveyResponse.objects.bulk_create(rows, ignore_conflicts=True)


def _int(event: dict, key: str) -> int | None:
    value = event["properties"].get(key)
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if 0 < value < 2**63 else None
    if isinstance(value, str) and value.isdigit() and len(value) < 19:
        return int(value)
    return None
