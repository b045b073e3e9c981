"""Time in stage: how long users stay in each journey stage, by Kaplan–Meier.

Every transition into a stage inside the range starts a stay; the next transition of the same
user (SQL ``LEAD()`` over their transitions in time order) ends it. Users still in the stage
are censored at ``now`` rather than dropped, so slow stages are not made to look fast. SQL
groups the stays by stage, comparison group, finished flag and duration rounded to
``resolution_seconds``; Kaplan–Meier runs on those grouped counts (frequency weights).
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
from analytics.reports.survival import EMPTY, Survival, km_summary, logrank_p
from onboarding.models import Segment
from onboarding.selectors import stages_ordered

OTHER = "other"


@dataclass(frozen=True)
class GroupSurvival:
    group: str  # a segment's slug, or "other" for users in none of the compared segments
    survival: Survival


@dataclass(frozen=True)
class StageTime:
    stage_id: int
    slug: str
    name: str
    survival: Survival
    by_segment: tuple[GroupSurvival, ...]
    logrank_p_value: float | None  # do the segments' curves differ? (None: fewer than 2 groups)


@dataclass(frozen=True)
class TimeInStageReport(Report):
    meta: ReportMeta
    resolution_seconds: int
    compared_segments: tuple[str, ...]  # users are put in the first of these they match
    stages: tuple[StageTime, ...]
    longest_stage: str | None  # slug of the stage with the longest median stay

    def rows(self) -> list[dict]:
        return [
            {"stage": s.slug, "entries": s.survival.entries, "finished": s.survival.finished,
             "censored": s.survival.censored, "median_seconds": s.survival.median_seconds,
             "p25_seconds": s.survival.p25_seconds, "p75_seconds": s.survival.p75_seconds,
             "logrank_p_value": s.logrank_p_value}
            for s in self.stages
        ]


def stay_counts(filters: ReportFilters, *, compare: list[Segment], resolution: int) -> tuple[list[tuple], str | None]:
    """Rows (stage_id, group index or -1, finished, rounded duration seconds, count)."""
    scope = user_scope(filters)
    users_sql, params = sql.users_subquery(scope)
    cases, case_params = [], []
    for index, segment in enumerate(compare):
        member_sql, member_params = sql.subquery(segment_users(filters, segment))
        cases.append(f"WHEN user_id IN ({member_sql}) THEN {index}")
        case_params.extend(member_params)
    group = f"CASE {' '.join(cases)} ELSE -1 END" if cases else "-1"
    now = "%s"
    duration = f"({sql.epoch(f'COALESCE(next_at, {now})')} - {sql.epoch('at')})"
    rows = sql.fetch(
        f"""
        WITH stays AS (
            SELECT user_id, to_stage_id, at,
                   LEAD(at) OVER (PARTITION BY user_id ORDER BY at, id) AS next_at
            FROM analytics_stagetransition
            WHERE application_id = %s AND {sql.in_users('user_id', users_sql)}
        )
        SELECT to_stage_id, grp, finished, ROUND(seconds / %s) * %s AS rounded, COUNT(*) FROM (
            SELECT to_stage_id, {group} AS grp,
                   CASE WHEN next_at IS NULL THEN 0 ELSE 1 END AS finished,
                   {duration} AS seconds
            FROM stays WHERE at >= %s AND at < %s
        ) d GROUP BY 1, 2, 3, 4
        """,
        [filters.application_id, *params, resolution, resolution,
         *case_params, sql.ts_param(filters.now), sql.ts_param(filters.start_at), sql.ts_param(filters.end_at)],
    )
    return rows, scope.segment_method


def time_in_stage_report(*, filters: ReportFilters, compare_segment_ids: tuple[int, ...] | None = None,
                         resolution_seconds: int = 3600) -> TimeInStageReport:
    segments = Segment.objects.filter(application_id=filters.application_id)
    if compare_segment_ids is None:
        compare = list(segments.filter(is_persona=True).order_by("name"))
    else:
        by_id = {s.id: s for s in segments.filter(id__in=compare_segment_ids)}
        compare = [by_id[i] for i in compare_segment_ids if i in by_id]
    rows, method = stay_counts(filters, compare=compare, resolution=max(1, int(resolution_seconds)))
    labels = {index: segment.slug for index, segment in enumerate(compare)} | {-1: OTHER}
    stages = []
    for stage in stages_ordered(application_id=filters.application_id):
        mine = [row for row in rows if row[0] == stage.id]
        durations = [max(float(row[3]), 0.0) for row in mine]
        finished = [int(row[2]) for row in mine]
        counts = [int(row[4]) for row in mine]
        groups = [int(row[1]) for row in mine]
        by_group = []
        if compare:
            for index in sorted(set(groups), key=lambda g: (g == -1, g)):
                picked = [i for i, g in enumerate(groups) if g == index]
                by_group.append(GroupSurvival(labels[index], km_summary(
                    [durations[i] for i in picked], [finished[i] for i in picked], [counts[i] for i in picked])))
        stages.append(StageTime(
            stage_id=stage.id, slug=stage.slug, name=stage.name,
            survival=km_summary(durations, finished, counts) if mine else EMPTY,
            by_segment=tuple(by_group),
            logrank_p_value=logrank_p(durations, finished, counts, groups) if compare and mine else None,
        ))
    with_median = [s for s in stages if s.survival.median_seconds is not None]
    longest = max(with_median, key=lambda s: s.survival.median_seconds) if with_median else None
    return TimeInStageReport(
        meta=ReportMeta.of(filters, method), resolution_seconds=max(1, int(resolution_seconds)),
        compared_segments=tuple(s.slug for s in compare), stages=tuple(stages),
        longest_stage=longest.slug if longest else None,
    )
