"""Guide performance: for each tour, checklist, bar and survey first shown to users in the range.

shown → engaged → completed / dismissed, where *engaged* means: a tour's second step was viewed
(``$guide_step_viewed`` with ``step_index`` ≥ 1), a checklist item was completed, a bar's button
was clicked (``$cta_clicked``), a survey was submitted, each since the range began. Step views and
clicks are read from the ``UserGuideEvent`` rollup (the last time per user × guide × step), where a
step index is the integer the event's ``step_index`` casts to. Completion and dismissal come from
the server-side ``GuideState``. Goal conversion compares users who saw the guide with comparable
users who did not, which is observational (see ``GoalConversion.note``).
"""
from __future__ import annotations

from dataclasses import dataclass

from analytics.reports import sql
from analytics.reports.filters import (
    Report,
    ReportFilters,
    ReportMeta,
    segment_users,
    user_scope,
)
from onboarding.models import Guide

GOAL_WINDOW_DAYS = 14
OBSERVATIONAL_NOTE = (
    "Observational: users who saw the guide are compared with users in the same stage and segment "
    "who did not, so differences may come from who was shown the guide, not from the guide itself; "
    "run an experiment to measure its effect."
)


@dataclass(frozen=True)
class StepViews:
    step_index: int  # 0 is the first step
    users: int  # users of the shown cohort who viewed this step
    drop_off: int  # users who viewed the previous step but not this one (0 for the first)


@dataclass(frozen=True)
class GoalConversion:
    goal_event: str
    window_days: int
    exposed_users: int  # saw the guide in the range
    exposed_converted: int  # …and did the goal event within the window after first seeing it
    exposed_rate: float | None
    comparison_users: int  # same stage(s) and segment, active in the range, never saw it
    comparison_converted: int  # …and did the goal event within the window after their first active day
    comparison_rate: float | None
    difference: float | None  # exposed_rate - comparison_rate
    observational: bool
    note: str


@dataclass(frozen=True)
class GuideStats:
    guide_id: int
    name: str
    kind: str
    live: bool
    shown: int
    engaged: int
    completed: int
    dismissed: int  # dismissed without completing
    engagement_rate: float | None
    completion_rate: float | None
    dismissal_rate: float | None
    median_seconds_to_complete: float | None  # from first shown to completed
    steps: tuple[StepViews, ...]  # tours only
    goal: GoalConversion | None


@dataclass(frozen=True)
class GuidePerformanceReport(Report):
    meta: ReportMeta
    guides: tuple[GuideStats, ...]

    def rows(self) -> list[dict]:
        return [
            {"guide_id": g.guide_id, "name": g.name, "kind": g.kind, "shown": g.shown, "engaged": g.engaged,
             "completed": g.completed, "dismissed": g.dismissed, "completion_rate": g.completion_rate,
             "median_seconds_to_complete": g.median_seconds_to_complete,
             "goal_exposed_rate": g.goal.exposed_rate if g.goal else None,
             "goal_comparison_rate": g.goal.comparison_rate if g.goal else None}
            for g in self.guides
        ]


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def guide_performance_report(*, filters: ReportFilters, guide_ids: tuple[int, ...] | None = None,
                             goal_window_days: int = GOAL_WINDOW_DAYS) -> GuidePerformanceReport:
    scope = user_scope(filters)
    users_sql, users_params = sql.users_subquery(scope)
    shown_where = f"""g.application_id = %s AND gs.first_seen_at >= %s AND gs.first_seen_at < %s
                      AND {sql.in_users('gs.user_id', users_sql)}"""
    shown_params = [filters.application_id, sql.ts_param(filters.start_at), sql.ts_param(filters.end_at),
                    *users_params]

    def did(kind: str, extra: str = "") -> str:
        # Users and guides with such an event since the range began: one scan of the rollup, joined by hash.
        return f"""SELECT DISTINCT ge.user_id, ge.guide_id FROM analytics_userguideevent ge
                   WHERE ge.application_id = %s AND ge.kind = '{kind}' AND ge.last_at >= %s {extra}"""

    since = [filters.application_id, sql.ts_param(filters.start_at)]
    counts = {
        row[0]: row[1:] for row in sql.fetch(
            f"""SELECT gs.guide_id, COUNT(*),
                   SUM(CASE WHEN (g.kind = 'tour' AND tour.user_id IS NOT NULL)
                             OR (g.kind = 'bar' AND bar.user_id IS NOT NULL)
                             OR (g.kind = 'survey' AND survey.user_id IS NOT NULL)
                             OR (g.kind = 'checklist' AND checklist.user_id IS NOT NULL) THEN 1 ELSE 0 END),
                   SUM(CASE WHEN gs.completed_at IS NOT NULL THEN 1 ELSE 0 END),
                   SUM(CASE WHEN gs.dismissed_at IS NOT NULL AND gs.completed_at IS NULL THEN 1 ELSE 0 END)
                FROM analytics_guidestate gs JOIN onboarding_guide g ON g.id = gs.guide_id
                LEFT JOIN ({did('step', 'AND ge.step >= 1')}) tour
                  ON tour.user_id = gs.user_id AND tour.guide_id = gs.guide_id
                LEFT JOIN ({did('cta')}) bar ON bar.user_id = gs.user_id AND bar.guide_id = gs.guide_id
                LEFT JOIN (SELECT DISTINCT r.user_id, r.guide_id FROM analytics_surveyresponse r
                           WHERE r.application_id = %s AND r.responded_at >= %s) survey
                  ON survey.user_id = gs.user_id AND survey.guide_id = gs.guide_id
                LEFT JOIN (SELECT DISTINCT c.user_id, i.guide_id FROM analytics_checklistitemcompletion c
                           JOIN onboarding_checklistitem i ON i.id = c.item_id WHERE c.completed_at >= %s) checklist
                  ON checklist.user_id = gs.user_id AND checklist.guide_id = gs.guide_id
                WHERE {shown_where} GROUP BY gs.guide_id""",
            [*since, *since, *since, sql.ts_param(filters.start_at), *shown_params],
        )
    }
    seconds = f"({sql.epoch('gs.completed_at')} - {sql.epoch('gs.first_seen_at')})"
    # Rounded to milliseconds: SQLite's julianday() arithmetic is off by a few microseconds.
    medians = {guide_id: round(float(value), 3) for guide_id, value in sql.fetch(
        f"""SELECT guide_id, AVG(d) FROM (
                SELECT guide_id, d, ROW_NUMBER() OVER (PARTITION BY guide_id ORDER BY d) AS rn,
                       COUNT(*) OVER (PARTITION BY guide_id) AS c
                FROM (SELECT gs.guide_id, {seconds} AS d
                      FROM analytics_guidestate gs JOIN onboarding_guide g ON g.id = gs.guide_id
                      WHERE {shown_where} AND gs.completed_at IS NOT NULL) x
            ) y WHERE rn IN ((c + 1) / 2, (c + 2) / 2) GROUP BY guide_id""",
        shown_params,
    )}
    step_rows = sql.fetch(
        f"""SELECT gs.guide_id, ge.step, COUNT(DISTINCT ge.user_id)
            FROM analytics_userguideevent ge
            JOIN analytics_guidestate gs ON gs.user_id = ge.user_id AND gs.guide_id = ge.guide_id
            JOIN onboarding_guide g ON g.id = gs.guide_id
            WHERE ge.application_id = %s AND ge.kind = 'step' AND ge.last_at >= %s
              AND g.kind = 'tour' AND {shown_where}
            GROUP BY 1, 2""",
        [filters.application_id, sql.ts_param(filters.start_at), *shown_params],
    )
    guides = Guide.objects.filter(application_id=filters.application_id).prefetch_related("stages")
    if guide_ids is not None:
        guides = guides.filter(id__in=guide_ids)
    stats = []
    for guide in guides.order_by("kind", "name", "id"):
        shown, engaged_n, completed, dismissed = (int(v or 0) for v in counts.get(guide.id, (0, 0, 0, 0)))
        if shown == 0 and guide.live_version_id is None:
            continue
        steps = _steps({int(r[1]): int(r[2]) for r in step_rows if r[0] == guide.id}) if guide.kind == "tour" else ()
        goal = (_goal(filters, guide, scope, goal_window_days)
                if guide.goal_event and shown else None)
        stats.append(GuideStats(
            guide_id=guide.id, name=guide.name, kind=guide.kind, live=guide.live_version_id is not None,
            shown=shown, engaged=engaged_n, completed=completed, dismissed=dismissed,
            engagement_rate=_rate(engaged_n, shown), completion_rate=_rate(completed, shown),
            dismissal_rate=_rate(dismissed, shown), median_seconds_to_complete=medians.get(guide.id),
            steps=steps, goal=goal,
        ))
    return GuidePerformanceReport(meta=ReportMeta.of(filters, scope.segment_method), guides=tuple(stats))


def _steps(viewers: dict[int, int]) -> tuple[StepViews, ...]:
    if not viewers:
        return ()
    steps, previous = [], None
    for index in range(max(viewers) + 1):
        users = viewers.get(index, 0)
        steps.append(StepViews(index, users, 0 if previous is None else max(previous - users, 0)))
        previous = users
    return tuple(steps)


def _goal(filters: ReportFilters, guide: Guide, users, window: int) -> GoalConversion:
    users_sql, users_params = sql.users_subquery(users)
    goal_params = [filters.application_id, guide.goal_event]
    window_end = sql.ts_plus_days("gs.first_seen_at", window)
    exposed, exposed_converted = sql.fetch(
        f"""SELECT COUNT(DISTINCT gs.user_id), COUNT(DISTINCT e.user_id)
            FROM analytics_guidestate gs
            LEFT JOIN analytics_event e ON e.user_id = gs.user_id AND e.application_id = %s AND e.name = %s
                 AND e.timestamp >= %s AND e.timestamp >= gs.first_seen_at AND e.timestamp < {window_end}
            WHERE gs.guide_id = %s AND gs.first_seen_at >= %s AND gs.first_seen_at < %s
              AND {sql.in_users('gs.user_id', users_sql)}""",
        [*goal_params, sql.ts_param(filters.start_at), guide.id, sql.ts_param(filters.start_at),
         sql.ts_param(filters.end_at), *users_params],
    )[0]
    # Comparable users: in scope, in the guide's stages and segment, active in the range, never shown it.
    where, params = [sql.in_users("a.user_id", users_sql)], list(users_params)
    stage_ids = [stage.id for stage in guide.stages.all()]
    if stage_ids:
        where.append(f"u.stage_id IN ({', '.join(str(int(i)) for i in stage_ids)})")
    if guide.segment_id:
        segment_sql, segment_params = sql.subquery(segment_users(filters, guide.segment))
        where.append(f"a.user_id IN ({segment_sql})")
        params.extend(segment_params)
    anchor_end = sql.plus_days("c.first_day", window)
    comparison, comparison_converted = sql.fetch(
        f"""SELECT COUNT(DISTINCT c.user_id), COUNT(DISTINCT e.user_id)
            FROM (SELECT a.user_id, MIN(a.day) AS first_day FROM analytics_userdayactivity a
                  JOIN analytics_enduser u ON u.id = a.user_id
                  WHERE a.application_id = %s AND a.day >= %s AND a.day <= %s AND {' AND '.join(where)}
                    AND NOT EXISTS (SELECT 1 FROM analytics_guidestate gs WHERE gs.user_id = a.user_id
                                    AND gs.guide_id = %s AND gs.first_seen_at IS NOT NULL)
                  GROUP BY a.user_id) c
            LEFT JOIN analytics_event e ON e.user_id = c.user_id AND e.application_id = %s AND e.name = %s
                 AND e.timestamp >= %s AND e.timestamp >= c.first_day AND e.timestamp < {anchor_end}""",
        [filters.application_id, sql.date_param(filters.start), sql.date_param(filters.end),
         *params, guide.id, *goal_params, sql.ts_param(filters.start_at)],
    )[0]
    exposed, exposed_converted = int(exposed or 0), int(exposed_converted or 0)
    comparison, comparison_converted = int(comparison or 0), int(comparison_converted or 0)
    exposed_rate, comparison_rate = _rate(exposed_converted, exposed), _rate(comparison_converted, comparison)
    return GoalConversion(
        goal_event=guide.goal_event, window_days=window, exposed_users=exposed, exposed_converted=exposed_converted,
        exposed_rate=exposed_rate, comparison_users=comparison, comparison_converted=comparison_converted,
        comparison_rate=comparison_rate,
        difference=None if exposed_rate is None or comparison_rate is None else exposed_rate - comparison_rate,
        observational=True, note=OBSERVATIONAL_NOTE,
    )
