"""Journey map data: per persona, per stage left to right, what a journey-map page draws.

For each persona (a segment with ``is_persona``; "everyone" when there is none) and each stage:
users in it now, conversion of the range's cohort to the next stage (``funnel``), median time in
it (``time_in_stage``), the live guides that target it with their completion rates (``guides``),
NPS/CSAT answered in it (``nps``), and how many of the cohort stall there. The stage with the
biggest drop-off gets the most common last event of a bounded sample of the users who stalled
there (the pain point) and a suggested opportunity sentence.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count

from analytics.models import EndUser
from analytics.reports import sql
from analytics.reports.filters import Report, ReportFilters, ReportMeta, segment_users
from analytics.reports.funnel import funnel_report, furthest_stage_sql
from analytics.reports.guides import guide_performance_report
from analytics.reports.nps import survey_report
from analytics.reports.time_in_stage import time_in_stage_report
from onboarding.models import Guide, Segment
from onboarding.selectors import stages_ordered

IGNORED_LAST_EVENTS = ("$pageview", "$exposure")
PAIN_SAMPLE = 5_000


@dataclass(frozen=True)
class StageGuide:
    guide_id: int
    name: str
    kind: str
    shown: int
    completion_rate: float | None


@dataclass(frozen=True)
class MapStage:
    slug: str
    name: str
    users_now: int
    reached: int  # cohort users who reached it
    conversion_to_next: float | None  # None for the last stage
    stalled: int  # reached it but not the next stage
    stall_share: float | None
    median_seconds_in_stage: float | None
    guides: tuple[StageGuide, ...]
    nps: float | None
    nps_responses: int
    csat_mean: float | None
    csat_responses: int
    is_biggest_drop_off: bool


@dataclass(frozen=True)
class PersonaJourney:
    persona: str  # segment slug, or "everyone"
    segment_id: int | None
    cohort_size: int
    stages: tuple[MapStage, ...]
    biggest_drop_off_stage: str | None
    pain_point_event: str | None  # most common last event of the users who stalled there
    pain_point_users: int  # how many of the sampled stalled users had it as their last event
    opportunity: str | None


@dataclass(frozen=True)
class JourneyMapReport(Report):
    meta: ReportMeta
    personas: tuple[PersonaJourney, ...]

    def rows(self) -> list[dict]:
        return [
            {"persona": p.persona, "stage": s.slug, "users_now": s.users_now, "reached": s.reached,
             "conversion_to_next": s.conversion_to_next, "stall_share": s.stall_share,
             "median_seconds_in_stage": s.median_seconds_in_stage, "guides": len(s.guides), "nps": s.nps,
             "csat_mean": s.csat_mean, "biggest_drop_off": s.is_biggest_drop_off}
            for p in self.personas for s in p.stages
        ]


def journey_map_report(*, filters: ReportFilters) -> JourneyMapReport:
    personas = list(Segment.objects.filter(application_id=filters.application_id, is_persona=True).order_by("name"))
    targets = [(p.slug, p.id) for p in personas] or [("everyone", None)]
    journeys = tuple(_persona(filters.with_segment(segment_id), slug) for slug, segment_id in targets)
    return JourneyMapReport(meta=ReportMeta.of(filters, None), personas=journeys)


def _persona(filters: ReportFilters, persona: str) -> PersonaJourney:
    stages = stages_ordered(application_id=filters.application_id)
    funnel = funnel_report(filters=filters)
    times = {s.slug: s.survival.median_seconds for s in time_in_stage_report(
        filters=filters, compare_segment_ids=()).stages}
    performance = {g.guide_id: g for g in guide_performance_report(filters=filters).guides}
    surveys = {g.group: g for g in survey_report(filters=filters).by_stage}
    users = EndUser.objects.filter(application_id=filters.application_id)
    if filters.segment_id is not None:
        users = users.filter(id__in=segment_users(filters, Segment.objects.get(pk=filters.segment_id)))
    now_counts = dict(users.filter(stage__isnull=False).values_list("stage_id").annotate(n=Count("id")))
    live = (Guide.objects.filter(application_id=filters.application_id, live_version__isnull=False,
                                 archived_at__isnull=True).prefetch_related("stages").order_by("name"))
    guides_by_stage: dict[int, list[StageGuide]] = {}
    for guide in live:
        stats = performance.get(guide.id)
        for stage in guide.stages.all():
            guides_by_stage.setdefault(stage.id, []).append(StageGuide(
                guide.id, guide.name, guide.kind, stats.shown if stats else 0,
                stats.completion_rate if stats else None))
    steps = list(funnel.steps)
    rows = []
    for index, (stage, step) in enumerate(zip(stages, steps)):
        following = steps[index + 1] if index + 1 < len(steps) else None
        stalled = step.users - following.users if following else 0
        survey = surveys.get(stage.slug)
        rows.append(MapStage(
            slug=stage.slug, name=stage.name, users_now=int(now_counts.get(stage.id, 0)), reached=step.users,
            conversion_to_next=following.conversion_from_previous if following else None,
            stalled=stalled, stall_share=stalled / step.users if following and step.users else None,
            median_seconds_in_stage=times.get(stage.slug),
            guides=tuple(guides_by_stage.get(stage.id, ())),
            nps=survey.nps.nps if survey else None, nps_responses=survey.nps.responses if survey else 0,
            csat_mean=survey.csat.mean if survey else None, csat_responses=survey.csat.responses if survey else 0,
            is_biggest_drop_off=False,
        ))
    candidates = [r for r in rows[:-1] if r.stalled > 0]
    biggest = max(candidates, key=lambda r: r.stalled) if candidates else None
    pain_event, pain_users = (None, 0)
    if biggest is not None:
        rows = [MapStage(**{**r.__dict__, "is_biggest_drop_off": r.slug == biggest.slug}) for r in rows]
        order = next(s.order for s in stages if s.slug == biggest.slug)
        pain_event, pain_users = _last_event(filters, order)
    return PersonaJourney(
        persona=persona, segment_id=filters.segment_id, cohort_size=funnel.cohort_size, stages=tuple(rows),
        biggest_drop_off_stage=biggest.slug if biggest else None, pain_point_event=pain_event,
        pain_point_users=pain_users, opportunity=_opportunity(biggest, pain_event),
    )


def _last_event(filters: ReportFilters, order: int) -> tuple[str | None, int]:
    furthest_sql, params, _ = furthest_stage_sql(filters)
    ignored = ", ".join(["%s"] * len(IGNORED_LAST_EVENTS))
    rows = sql.fetch(
        f"""SELECT name, COUNT(*) FROM (
                SELECT e.user_id, e.name,
                       ROW_NUMBER() OVER (PARTITION BY e.user_id ORDER BY e.timestamp DESC, e.id DESC) AS rn
                FROM analytics_event e
                WHERE e.name NOT IN ({ignored}) AND e.user_id IN (
                    SELECT user_id FROM ({furthest_sql}) f WHERE furthest = %s
                    ORDER BY {sql.sample_order('user_id')} LIMIT %s)
            ) x WHERE rn = 1 GROUP BY name ORDER BY 2 DESC, 1 LIMIT 1""",
        [*IGNORED_LAST_EVENTS, *params, order, PAIN_SAMPLE],
    )
    return (rows[0][0], int(rows[0][1])) if rows else (None, 0)


def _opportunity(stage: MapStage | None, pain_event: str | None) -> str | None:
    if stage is None or stage.stall_share is None:
        return None
    stall = f"{round(100 * stage.stall_share)} % stall here"
    last = f"; the most common last event before they stop is {pain_event}" if pain_event else ""
    if not stage.guides:
        return f"no guide targets {stage.slug}; {stall}{last}"
    best = max(stage.guides, key=lambda g: g.completion_rate or 0)
    completion = round(100 * (best.completion_rate or 0))
    if completion < 50:
        return f"{best.name} targets {stage.slug} but only {completion} % complete it; {stall}{last}"
    return f"{best.name} is completed by {completion} % yet {stall}{last}"
