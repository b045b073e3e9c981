"""Rebuild an application's derived state set-wise in PostgreSQL, after events were ``COPY``-ed in.

The same results as ``analytics.ingest.derived`` produces event by event, computed by a handful
of statements over the whole events table (one application at a time):

- ``UserEventDaily``: ``GROUP BY user, name, UTC day``.
- ``StageTransition``: every event whose name a stage rule reads, plus each user's first event,
  is a moment the ingest evaluates the stages. Window functions give, at each such event (in
  ``(timestamp, id)`` order, the writer's order), how often each named event happened up to and
  including it — in total and, for rules with ``within_days = D``, on the UTC days X-D+1 … X
  (a running count minus a ``RANGE … D PRECEDING`` count over day numbers). The furthest stage
  whose rule holds is the target; a transition is recorded wherever the target changes.
  Supported rule shapes: none (everyone), ``event`` and ``distinct_events`` with ``min_count``
  and ``within_days``, and ``all`` / ``any`` of them — what journey stages use; anything else
  raises ``UnsupportedRule``, and such an application must be loaded through the ingest writer.
- ``EndUser``: first / last seen, and the stage of the last transition.
- ``GuideState``, ``ChecklistItemCompletion``, ``SurveyResponse``: aggregates of the guide
  events, following ``analytics.ingest.guide_events`` (the same properties, the same live
  checklist rules via ``checklist_item_rules``; URL items match by prefix, as ``*``-free rules do).
  One deliberate difference: a survey answer's ``stage_slug`` is the user's stage at the moment
  of the answer; the writer records the stage at the end of the batch holding it.

Rebuilding replaces the application's rows of these tables, so running it twice changes nothing.
"""
from __future__ import annotations

import logging
import time
from typing import Any

from django.db import connection, transaction

from analytics.ingest.guide_events import GUIDE_STATE_EVENTS, SURVEY_RANGES, checklist_item_rules
from analytics.ingest.stages import stage_rules_load
from onboarding.models import ChecklistItem, Guide

logger = logging.getLogger("analytics")

DAY_NUMBER = "(((e.timestamp AT TIME ZONE 'UTC')::date) - DATE '1970-01-01')"


class UnsupportedRule(ValueError):
    pass


def derived_state_rebuild(*, application_id: int, seconds: dict | None = None) -> None:
    """Recompute every derived table of the application from its events (PostgreSQL only)."""
    steps = (
        ("daily counters", _daily_counts), ("stage transitions", _stage_transitions), ("users", _users),
        ("guide state", _guide_states), ("checklist items", _checklist_items), ("survey answers", _survey_answers),
    )
    for label, step in steps:
        started = time.perf_counter()
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '256MB'")
            step(cursor, application_id)
        if seconds is not None:
            seconds[f"derived: {label}"] = time.perf_counter() - started
        logger.info("simulation.derived_rebuilt", extra={"application_id": application_id, "step": label})


def _daily_counts(cursor, application_id: int) -> None:
    cursor.execute(
        "DELETE FROM analytics_usereventdaily d USING analytics_enduser u "
        "WHERE d.user_id = u.id AND u.application_id = %s", [application_id],
    )
    cursor.execute(
        "INSERT INTO analytics_usereventdaily (user_id, name, day, count) "
        "SELECT user_id, name, (timestamp AT TIME ZONE 'UTC')::date, COUNT(*) FROM analytics_event "
        "WHERE application_id = %s GROUP BY 1, 2, 3", [application_id],
    )


# --- journey stages -------------------------------------------------------------------------

class _Columns:
    """The window columns a set of rules needs, named c0, c1, … with their SQL."""

    def __init__(self) -> None:
        self.running: dict[str, str] = {}  # event name → column: count up to and including the row
        self.before: dict[tuple[str, int], str] = {}  # (name, D) → column: count on days ≤ X - D
        self.params: list[Any] = []

    def count(self, name: str, days: int | None) -> str:
        """SQL for "how often ``name`` happened (within ``days`` days) up to this event"."""
        running = self.running.setdefault(name, f"r{len(self.running)}")
        if days is None:
            return running
        before = self.before.setdefault((name, int(days)), f"b{len(self.before)}")
        return f"({running} - {before})"


def _condition(node: Any, columns: _Columns) -> str:
    if node is None:
        return "TRUE"
    if not isinstance(node, dict) or len(node) == 0:
        raise UnsupportedRule(f"not a rule: {node!r}")
    if "all" in node or "any" in node:
        kind = "all" if "all" in node else "any"
        parts = [_condition(child, columns) for child in node[kind]]
        if not parts:
            return "TRUE" if kind == "all" else "FALSE"
        return "(" + (" AND " if kind == "all" else " OR ").join(parts) + ")"
    if "event" in node:
        return f"({columns.count(node['event'], node.get('within_days'))} >= {int(node.get('min_count', 1))})"
    if "distinct_events" in node:
        names = sorted(set(node["distinct_events"]))
        present = " + ".join(
            f"(CASE WHEN {columns.count(name, node.get('within_days'))} > 0 THEN 1 ELSE 0 END)" for name in names
        ) or "0"
        return f"(({present}) >= {int(node.get('min_count', 1))})"
    raise UnsupportedRule(f"the set-wise rebuild cannot evaluate {sorted(node)} rules; use the ingest writer")


def stage_transitions_sql(application_id: int) -> tuple[str, list[Any]]:
    """The INSERT that recreates the application's stage transitions (exposed for tests)."""
    rules = stage_rules_load(application_id=application_id)
    columns = _Columns()
    cases = [(stage, _condition(stage.rule, columns)) for stage in reversed(rules.stages)]
    names = sorted(rules.names)
    name_params = ", ".join(["%s"] * len(names)) or "NULL"
    running = ", ".join(
        f"COUNT(*) FILTER (WHERE e.name = %s) OVER (PARTITION BY e.user_id ORDER BY e.timestamp, e.id "
        f"ROWS UNBOUNDED PRECEDING) AS {column}"
        for column in columns.running.values()
    )
    before = ", ".join(
        f"COUNT(*) FILTER (WHERE e.name = %s) OVER (PARTITION BY e.user_id ORDER BY {DAY_NUMBER} "
        f"RANGE BETWEEN UNBOUNDED PRECEDING AND {days} PRECEDING) AS {column}"
        for (_name, days), column in columns.before.items()
    )
    target = "CASE " + " ".join(f"WHEN {condition} THEN {stage.id}" for stage, condition in cases) + " END"
    window_columns = ", ".join(part for part in (running, before) if part) or "0 AS none"
    sql = f"""
        INSERT INTO analytics_stagetransition (application_id, user_id, from_stage_id, to_stage_id, at, created_at)
        SELECT %s, user_id, previous, target, timestamp, now() FROM (
            SELECT user_id, timestamp, target,
                   LAG(target) OVER (PARTITION BY user_id ORDER BY timestamp, id) AS previous
            FROM (
                SELECT user_id, id, timestamp, {target} AS target FROM (
                    SELECT e.user_id, e.id, e.timestamp, {window_columns}
                    FROM analytics_event e
                    WHERE e.application_id = %s AND (e.name IN ({name_params}) OR e.id IN (
                        SELECT DISTINCT ON (f.user_id) f.id FROM analytics_event f WHERE f.application_id = %s
                        ORDER BY f.user_id, f.timestamp, f.id))
                ) counted
            ) targets WHERE target IS NOT NULL
        ) moves
        WHERE previous IS DISTINCT FROM target
    """
    params = [application_id, *columns.running.keys(), *(name for name, _ in columns.before), application_id,
              *names, application_id]
    return sql, params


def _stage_transitions(cursor, application_id: int) -> None:
    cursor.execute("DELETE FROM analytics_stagetransition WHERE application_id = %s", [application_id])
    sql, params = stage_transitions_sql(application_id)
    cursor.execute(sql, params)


def _users(cursor, application_id: int) -> None:
    cursor.execute(
        """
        UPDATE analytics_enduser u SET first_seen_at = s.first_seen, last_seen_at = s.last_seen,
               stage_id = t.to_stage_id, stage_entered_at = t.at, updated_at = now()
        FROM (SELECT user_id, MIN(timestamp) AS first_seen, MAX(timestamp) AS last_seen
              FROM analytics_event WHERE application_id = %s GROUP BY user_id) s
        LEFT JOIN (SELECT DISTINCT ON (user_id) user_id, to_stage_id, at FROM analytics_stagetransition
                   WHERE application_id = %s ORDER BY user_id, at DESC, id DESC) t ON t.user_id = s.user_id
        WHERE u.id = s.user_id
        """,
        [application_id, application_id],
    )


# --- guide events ---------------------------------------------------------------------------

def _guide_id(column: str = "e.properties") -> str:
    """The ``guide_id`` property as a bigint when it is a positive integer (number or digit string)."""
    return (f"(CASE WHEN jsonb_typeof({column} -> 'guide_id') = 'number' AND ({column} ->> 'guide_id') ~ '^[0-9]+$' "
            f"THEN ({column} ->> 'guide_id')::numeric "
            f"WHEN jsonb_typeof({column} -> 'guide_id') = 'string' AND ({column} ->> 'guide_id') ~ '^[0-9]{{1,18}}$' "
            f"THEN ({column} ->> 'guide_id')::numeric END)")


def _guide_states(cursor, application_id: int) -> None:
    cursor.execute(
        "DELETE FROM analytics_guidestate s USING onboarding_guide g "
        "WHERE s.guide_id = g.id AND g.application_id = %s", [application_id],
    )
    shown = "e.name = '$guide_shown'"
    names = ", ".join(f"'{name}'" for name in sorted(GUIDE_STATE_EVENTS))
    cursor.execute(
        f"""
        INSERT INTO analytics_guidestate (user_id, guide_id, seen_count, first_seen_at, last_seen_at,
                                          last_session_id, dismissed_at, completed_at, render_failed_count)
        SELECT e.user_id, g.id,
               COUNT(*) FILTER (WHERE {shown}), MIN(e.timestamp) FILTER (WHERE {shown}),
               MAX(e.timestamp) FILTER (WHERE {shown}),
               COALESCE((ARRAY_AGG(e.session_id ORDER BY e.timestamp DESC, e.id DESC) FILTER (WHERE {shown}))[1], ''),
               MIN(e.timestamp) FILTER (WHERE e.name = '$guide_dismissed'),
               MIN(e.timestamp) FILTER (WHERE e.name = '$guide_completed'),
               COUNT(*) FILTER (WHERE e.name = '$guide_render_failed')
        FROM analytics_event e JOIN onboarding_guide g ON g.id = {_guide_id()} AND g.application_id = %s
        WHERE e.application_id = %s AND e.name IN ({names})
        GROUP BY e.user_id, g.id
        """,
        [application_id, application_id],
    )


def _checklist_items(cursor, application_id: int) -> None:
    cursor.execute(
        "DELETE FROM analytics_checklistitemcompletion c USING onboarding_checklistitem i, onboarding_guide g "
        "WHERE c.item_id = i.id AND i.guide_id = g.id AND g.application_id = %s", [application_id],
    )
    item_id = _guide_id("e.properties").replace("guide_id", "item_id")
    sources = [
        f"""SELECT e.user_id, i.id AS item_id, e.timestamp FROM analytics_event e
            JOIN onboarding_checklistitem i ON i.id = {item_id}
            JOIN onboarding_guide g ON g.id = i.guide_id AND g.application_id = %s
            WHERE e.application_id = %s AND e.name = '$checklist_item_completed'"""
    ]
    params: list[Any] = [application_id, application_id]
    for rule in checklist_item_rules(application_id=application_id):
        if rule.completion == ChecklistItem.Completion.EVENT and rule.event:
            sources.append("SELECT user_id, %s, timestamp FROM analytics_event WHERE application_id = %s AND name = %s")
            params += [rule.id, application_id, rule.event]
        elif rule.completion == ChecklistItem.Completion.TOUR and rule.tour_id:
            sources.append(f"SELECT user_id, %s, timestamp FROM analytics_event e WHERE application_id = %s "
                           f"AND name = '$guide_completed' AND {_guide_id()} = %s")
            params += [rule.id, application_id, rule.tour_id]
        elif rule.completion == ChecklistItem.Completion.URL and rule.url and "*" not in rule.url:
            sources.append("SELECT user_id, %s, timestamp FROM analytics_event WHERE application_id = %s "
                           "AND name = '$pageview' AND starts_with(url, %s)")
            params += [rule.id, application_id, rule.url]
    cursor.execute(
        "INSERT INTO analytics_checklistitemcompletion (user_id, item_id, completed_at) "
        f"SELECT user_id, item_id, MIN(timestamp) FROM ({' UNION ALL '.join(sources)}) done GROUP BY 1, 2",
        params,
    )


def _survey_answers(cursor, application_id: int) -> None:
    cursor.execute("DELETE FROM analytics_surveyresponse WHERE application_id = %s", [application_id])
    ranges = " ".join(
        f"WHEN g.survey_kind = '{kind}' THEN (e.properties ->> 'score')::numeric BETWEEN {low} AND {high}"
        for kind, (low, high) in SURVEY_RANGES.items()
    )
    cursor.execute(
        f"""
        INSERT INTO analytics_surveyresponse (application_id, guide_id, user_id, event_id, kind, score, comment,
                                              stage_slug, responded_at)
        SELECT %s, g.id, e.user_id, e.id, g.survey_kind, (e.properties ->> 'score')::int,
               CASE WHEN jsonb_typeof(e.properties -> 'comment') = 'string'
                    THEN LEFT(e.properties ->> 'comment', 5000) ELSE '' END,
               COALESCE((SELECT s.slug FROM analytics_stagetransition t
                         JOIN onboarding_journeystage s ON s.id = t.to_stage_id
                         WHERE t.user_id = e.user_id AND t.at <= e.timestamp ORDER BY t.at DESC, t.id DESC LIMIT 1), ''),
               e.timestamp
        FROM analytics_event e JOIN onboarding_guide g ON g.id = {_guide_id()} AND g.application_id = %s
             AND g.kind = '{Guide.Kind.SURVEY}'
        WHERE e.application_id = %s AND e.name = '$survey_submitted'
          AND jsonb_typeof(e.properties -> 'score') = 'number' AND (e.properties ->> 'score') ~ '^[0-9]+$'
          AND CASE {ranges} ELSE FALSE END
        """,
        [application_id, application_id, application_id],
    )
