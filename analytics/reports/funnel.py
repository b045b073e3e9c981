"""Journey funnel: how far the users who arrived in the range got through the journey stages.

The cohort is the users first seen in the range (in the segment, if any). A user "reached" a
stage when they ever transitioned into it or into any later stage (reaching stage k counts as
having passed the earlier ones). A cohort user with no transition at all counts as having
reached the first stage only when its entry rule is empty (everyone is in it). Without a segment
or variant the counts come from the ``CohortDayStage`` rollup; with one, from the users' transitions.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from analytics.reports import sql
from analytics.reports.filters import Report, ReportFilters, ReportMeta, user_scope
from onboarding.selectors import stages_ordered


@dataclass(frozen=True)
class FunnelStep:
    stage_id: int
    slug: str
    name: str
    order: int
    users: int  # cohort users who reached this stage or a later one
    conversion_from_previous: float | None  # users / previous stage's users (first stage: / cohort)
    conversion_overall: float | None  # users / cohort size
    drop_off: int  # previous stage's users (or the cohort) minus users
    is_main_friction: bool  # the step (after the first stage) with the lowest conversion


@dataclass(frozen=True)
class DailyEntries:
    day: date
    stage_slug: str
    entries: int


@dataclass(frozen=True)
class FunnelReport(Report):
    meta: ReportMeta
    cohort_size: int
    steps: tuple[FunnelStep, ...]
    main_friction_stage: str | None  # slug of the stage whose step converts worst
    # Transitions into each stage per day, from the StageEntryDaily rollup; empty when a segment or
    # variant is chosen (the rollup counts everyone).
    entries_by_day: tuple[DailyEntries, ...]

    def rows(self) -> list[dict]:
        return [
            {"stage": s.slug, "users": s.users, "conversion_from_previous": s.conversion_from_previous,
             "conversion_overall": s.conversion_overall, "drop_off": s.drop_off, "main_friction": s.is_main_friction}
            for s in self.steps
        ]


def furthest_stage_sql(filters: ReportFilters) -> tuple[str, list, str | None]:
    """SQL of (user_id, furthest stage order) for the cohort; order -1 when no stage was reached."""
    scope = user_scope(filters, cohort=True)
    users_sql, params = sql.subquery(scope.users)
    stages = stages_ordered(application_id=filters.application_id)
    default_order = stages[0].order if stages and stages[0].entry_rule is None else -1
    return (
        f"""SELECT u.id AS user_id, COALESCE(MAX(s."order"), %s) AS furthest
            FROM analytics_enduser u
            LEFT JOIN analytics_stagetransition t ON t.user_id = u.id
            LEFT JOIN onboarding_journeystage s ON s.id = t.to_stage_id
            WHERE u.id IN ({users_sql})
            GROUP BY u.id""",
        [default_order, *params],
        scope.segment_method,
    )


def reached_counts(filters: ReportFilters) -> tuple[int, dict[int, int], str | None]:
    """Cohort size and, per stage order, how many cohort users got furthest exactly there."""
    if filters.everyone:
        stages = stages_ordered(application_id=filters.application_id)
        default_order = stages[0].order if stages and stages[0].entry_rule is None else -1
        rows = sql.fetch(
            """SELECT furthest_order, SUM(users) FROM analytics_cohortdaystage
               WHERE application_id = %s AND first_day >= %s AND first_day <= %s GROUP BY furthest_order""",
            [filters.application_id, sql.date_param(filters.start), sql.date_param(filters.end)],
        )
        furthest: dict[int, int] = {}
        for order, count in rows:
            order = default_order if int(order) == -1 else int(order)
            furthest[order] = furthest.get(order, 0) + int(count)
        return sum(furthest.values()), furthest, None
    furthest_sql, params, method = furthest_stage_sql(filters)
    rows = sql.fetch(f"SELECT furthest, COUNT(*) FROM ({furthest_sql}) per_user GROUP BY furthest", params)
    furthest = {int(order): int(count) for order, count in rows}
    return sum(furthest.values()), furthest, method


def funnel_report(*, filters: ReportFilters) -> FunnelReport:
    cohort, furthest, method = reached_counts(filters)
    stages = stages_ordered(application_id=filters.application_id)
    steps: list[FunnelStep] = []
    previous = cohort
    for stage in stages:
        users = sum(count for order, count in furthest.items() if order >= stage.order)
        steps.append(FunnelStep(
            stage_id=stage.id, slug=stage.slug, name=stage.name, order=stage.order, users=users,
            conversion_from_previous=users / previous if previous else None,
            conversion_overall=users / cohort if cohort else None,
            drop_off=previous - users, is_main_friction=False,
        ))
        previous = users
    candidates = [s for s in steps[1:] if s.conversion_from_previous is not None]
    friction = min(candidates, key=lambda s: s.conversion_from_previous) if candidates else None
    if friction is not None:
        steps = [
            FunnelStep(**{**s.__dict__, "is_main_friction": s.stage_id == friction.stage_id}) for s in steps
        ]
    return FunnelReport(
        meta=ReportMeta.of(filters, method),
        cohort_size=cohort,
        steps=tuple(steps),
        main_friction_stage=friction.slug if friction else None,
        entries_by_day=_entries_by_day(filters) if filters.everyone else (),
    )


def _entries_by_day(filters: ReportFilters) -> tuple[DailyEntries, ...]:
    rows = sql.fetch(
        """
        SELECT r.day, s.slug, r.entries FROM analytics_stageentrydaily r
        JOIN onboarding_journeystage s ON s.id = r.stage_id
        WHERE r.application_id = %s AND r.day >= %s AND r.day <= %s
        ORDER BY r.day, s."order"
        """,
        [filters.application_id, sql.date_param(filters.start), sql.date_param(filters.end)],
    )
    return tuple(DailyEntries(day=sql.as_date(day), stage_slug=slug, entries=int(n)) for day, slug, n in rows)
