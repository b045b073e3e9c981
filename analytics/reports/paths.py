"""Journey paths: the most common sequences of stages and guide interactions.

For a bounded, deterministic sample of the users first seen in the range, SQL lists each user's
first ``max_steps × 3`` items in time order — stage entries (the stage slug), guides first shown
(``$guide_shown:<guide name>``) and guides completed (``$guide_completed:<guide name>``, both from
``GuideState``). Python collapses immediate repeats, cuts a converted user's path right after the
target stage, keeps at most ``max_steps`` items, and counts identical paths separately for users
who reached the target stage (or a later one) and those who did not.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from analytics.reports import sql
from analytics.reports.filters import Report, ReportFilters, ReportMeta, user_scope
from onboarding.models import Guide, JourneyStage

ARROW = " → "


@dataclass(frozen=True)
class PathCount:
    path: tuple[str, ...]
    text: str  # the path joined with arrows
    users: int
    share: float  # of the group's users


@dataclass(frozen=True)
class PathsReport(Report):
    meta: ReportMeta
    target_stage: str
    sample_size: int
    sample_cap: int
    max_steps: int
    converted_users: int
    not_converted_users: int
    converted: tuple[PathCount, ...]
    not_converted: tuple[PathCount, ...]

    def rows(self) -> list[dict]:
        return ([{"group": "converted", "path": p.text, "users": p.users, "share": p.share} for p in self.converted]
                + [{"group": "not_converted", "path": p.text, "users": p.users, "share": p.share}
                   for p in self.not_converted])


def paths_report(*, filters: ReportFilters, target_stage: str = "activation", top: int = 10, max_steps: int = 6,
                 sample_cap: int = 20_000) -> PathsReport:
    scope = user_scope(filters, cohort=True)
    users_sql, params = sql.subquery(scope.users)
    target = JourneyStage.objects.filter(application_id=filters.application_id, slug=target_stage).first()
    target_order = target.order if target else 10**6
    sample = f"""SELECT u.id FROM analytics_enduser u WHERE u.id IN ({users_sql})
                 ORDER BY {sql.sample_order('u.id')} LIMIT %s"""
    sample_params = [*params, int(sample_cap)]
    people = sql.fetch(
        f"""SELECT s.id, CASE WHEN EXISTS (SELECT 1 FROM analytics_stagetransition t
                JOIN onboarding_journeystage st ON st.id = t.to_stage_id
                WHERE t.user_id = s.id AND st."order" >= %s) THEN 1 ELSE 0 END
            FROM ({sample}) s""",
        [target_order, *sample_params],
    )
    items = sql.fetch(
        f"""SELECT user_id, kind, ref FROM (
                SELECT user_id, kind, ref, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY at, kind, ref) AS rn
                FROM (
                    SELECT t.user_id, t.at, 's' AS kind, t.to_stage_id AS ref FROM analytics_stagetransition t
                    WHERE t.user_id IN ({sample})
                    UNION ALL
                    SELECT gs.user_id, gs.first_seen_at, 'g', gs.guide_id FROM analytics_guidestate gs
                    WHERE gs.first_seen_at IS NOT NULL AND gs.user_id IN ({sample})
                    UNION ALL
                    SELECT gs.user_id, gs.completed_at, 'h', gs.guide_id FROM analytics_guidestate gs
                    WHERE gs.completed_at IS NOT NULL AND gs.user_id IN ({sample})
                ) x
            ) y WHERE rn <= %s ORDER BY user_id, rn""",
        [*sample_params, *sample_params, *sample_params, int(max_steps) * 3],
    )
    stages = {s.id: s for s in JourneyStage.objects.filter(application_id=filters.application_id)}
    guides = dict(Guide.objects.filter(application_id=filters.application_id).values_list("id", "name"))
    sequences: dict[int, list[str]] = {}
    for user_id, kind, ref in items:
        if kind == "s":
            label = stages[ref].slug if ref in stages else str(ref)
        else:
            label = f"{'$guide_shown' if kind == 'g' else '$guide_completed'}:{guides.get(ref, ref)}"
        sequence = sequences.setdefault(user_id, [])
        if not sequence or sequence[-1] != label:
            sequence.append(label)
    converted, not_converted = Counter(), Counter()
    target_slugs = {s.slug for s in stages.values() if s.order >= target_order}
    for user_id, reached in people:
        path = sequences.get(user_id, [])
        if reached:
            cut = next((i for i, label in enumerate(path) if label in target_slugs), None)
            path = path[: cut + 1] if cut is not None else path
            converted[tuple(path[:max_steps])] += 1
        else:
            not_converted[tuple(path[:max_steps])] += 1
    n_conv, n_not = sum(converted.values()), sum(not_converted.values())
    return PathsReport(
        meta=ReportMeta.of(filters, scope.segment_method), target_stage=target_stage, sample_size=len(people),
        sample_cap=int(sample_cap), max_steps=max_steps, converted_users=n_conv, not_converted_users=n_not,
        converted=_top(converted, n_conv, top), not_converted=_top(not_converted, n_not, top),
    )


def _top(counter: Counter, total: int, top: int) -> tuple[PathCount, ...]:
    ranked = sorted(counter.items(), key=lambda item: (-item[1], item[0]))[:top]
    return tuple(PathCount(path, ARROW.join(path) if path else "(nothing)", n, n / total) for path, n in ranked)
