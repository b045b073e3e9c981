"""NPS and CSAT from ``SurveyResponse``: over time, by segment, by stage, with response rates.

One answer per user per survey per period counts: the latest answer of a user to a survey in
each week or month (``interval``) is kept and earlier ones in that period dropped, in SQL
(``ROW_NUMBER()`` over user, guide and period). Response rate = distinct users who answered /
distinct users shown a survey of that kind in the range (from ``GuideState``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

from django.utils.dateparse import parse_datetime

from analytics.reports import sql
from analytics.reports.filters import (
    Report,
    ReportFilters,
    ReportMeta,
    segment_users,
    user_scope,
)
from analytics.reports.survey_stats import (
    CsatSummary,
    NpsSummary,
    csat_summary,
    nps_summary,
)
from onboarding.models import Segment

INTERVALS = ("week", "month")


@dataclass(frozen=True)
class NpsPeriod:
    period: date  # first day of the week (Monday) or month
    summary: NpsSummary


@dataclass(frozen=True)
class CsatPeriod:
    period: date
    summary: CsatSummary


@dataclass(frozen=True)
class GroupScores:
    group: str  # a stage slug ("" when unknown) or a segment slug
    nps: NpsSummary
    csat: CsatSummary


@dataclass(frozen=True)
class FollowUp:
    kind: str
    score: int
    comment: str
    stage_slug: str
    responded_at: datetime
    user_id: int
    guide_id: int


@dataclass(frozen=True)
class SurveyReport(Report):
    meta: ReportMeta
    interval: str
    nps: NpsSummary
    csat: CsatSummary
    nps_over_time: tuple[NpsPeriod, ...]
    csat_over_time: tuple[CsatPeriod, ...]
    nps_users_shown: int
    nps_response_rate: float | None
    csat_users_shown: int
    csat_response_rate: float | None
    by_stage: tuple[GroupScores, ...]
    by_segment: tuple[GroupScores, ...]  # persona segments
    detractor_follow_ups: tuple[FollowUp, ...]  # most recent first; NPS 0–6, CSAT 1–2, with a comment

    def rows(self) -> list[dict]:
        rows = [{"kind": "nps", "period": p.period.isoformat(), "responses": p.summary.responses,
                 "score": p.summary.nps, "ci_low": p.summary.ci_low, "ci_high": p.summary.ci_high}
                for p in self.nps_over_time]
        rows += [{"kind": "csat", "period": p.period.isoformat(), "responses": p.summary.responses,
                  "score": p.summary.mean, "ci_low": p.summary.mean_ci_low, "ci_high": p.summary.mean_ci_high}
                 for p in self.csat_over_time]
        return rows


def _latest_answers(filters: ReportFilters, users, interval: str, guide_id: int | None) -> tuple[str, list]:
    users_sql, users_params = sql.users_subquery(users)
    day = sql.day_of("sr.responded_at")
    bucket = sql.week_of(day) if interval == "week" else sql.month_of(day)
    guide_filter, guide_params = ("AND sr.guide_id = %s", [guide_id]) if guide_id else ("", [])
    return (
        f"""SELECT * FROM (
                SELECT sr.id, sr.user_id, sr.guide_id, sr.kind, sr.score, sr.comment, sr.stage_slug,
                       sr.responded_at, {bucket} AS period,
                       ROW_NUMBER() OVER (PARTITION BY sr.user_id, sr.guide_id, {bucket}
                                          ORDER BY sr.responded_at DESC, sr.id DESC) AS rn
                FROM analytics_surveyresponse sr
                WHERE sr.application_id = %s AND sr.responded_at >= %s AND sr.responded_at < %s
                  AND {sql.in_users('sr.user_id', users_sql)} {guide_filter}
            ) ranked WHERE rn = 1""",
        [filters.application_id, sql.ts_param(filters.start_at), sql.ts_param(filters.end_at), *users_params,
         *guide_params],
    )


_SCORES = """SUM(CASE WHEN kind = 'nps' AND score >= 9 THEN 1 ELSE 0 END),
             SUM(CASE WHEN kind = 'nps' AND score BETWEEN 7 AND 8 THEN 1 ELSE 0 END),
             SUM(CASE WHEN kind = 'nps' AND score <= 6 THEN 1 ELSE 0 END),
             SUM(CASE WHEN kind = 'csat' THEN 1 ELSE 0 END),
             SUM(CASE WHEN kind = 'csat' THEN score ELSE 0 END),
             SUM(CASE WHEN kind = 'csat' THEN score * score ELSE 0 END),
             SUM(CASE WHEN kind = 'csat' AND score >= 4 THEN 1 ELSE 0 END)"""


def _summaries(values) -> tuple[NpsSummary, CsatSummary]:
    p, pa, d, cn, cs, css, sat = (int(v or 0) for v in values)
    return nps_summary(p, pa, d), csat_summary(cn, cs, css, sat)


def survey_report(*, filters: ReportFilters, interval: str = "month", guide_id: int | None = None,
                  follow_ups: int = 20) -> SurveyReport:
    if interval not in INTERVALS:
        raise ValueError(f"interval must be one of {', '.join(INTERVALS)}")
    scope = user_scope(filters)
    latest, params = _latest_answers(filters, scope, interval, guide_id)
    nps, csat = _summaries(sql.fetch(f"SELECT {_SCORES} FROM ({latest}) a", params)[0])
    periods = sql.fetch(f"SELECT period, {_SCORES} FROM ({latest}) a GROUP BY period ORDER BY period", params)
    over_time = [(sql.as_date(row[0]), *_summaries(row[1:])) for row in periods]
    stages = sql.fetch(f"SELECT stage_slug, {_SCORES} FROM ({latest}) a GROUP BY stage_slug ORDER BY stage_slug",
                       params)
    by_segment = []
    for segment in Segment.objects.filter(application_id=filters.application_id, is_persona=True).order_by("name"):
        seg_latest, seg_params = _latest_answers(filters, segment_users(filters, segment).filter(
            id__in=scope.users), interval, guide_id)
        by_segment.append(GroupScores(segment.slug, *_summaries(
            sql.fetch(f"SELECT {_SCORES} FROM ({seg_latest}) a", seg_params)[0])))
    responders = dict(sql.fetch(f"SELECT kind, COUNT(DISTINCT user_id) FROM ({latest}) a GROUP BY kind", params))
    users_sql, users_params = sql.users_subquery(scope)
    guide_filter, guide_params = ("AND g.id = %s", [guide_id]) if guide_id else ("", [])
    shown = dict(sql.fetch(
        f"""SELECT g.survey_kind, COUNT(DISTINCT gs.user_id) FROM analytics_guidestate gs
            JOIN onboarding_guide g ON g.id = gs.guide_id
            WHERE g.application_id = %s AND g.kind = 'survey' AND gs.first_seen_at < %s AND gs.last_seen_at >= %s
              AND {sql.in_users('gs.user_id', users_sql)} {guide_filter}
            GROUP BY g.survey_kind""",
        [filters.application_id, sql.ts_param(filters.end_at), sql.ts_param(filters.start_at), *users_params,
         *guide_params],
    ))
    comments = sql.fetch(
        f"""SELECT kind, score, comment, stage_slug, responded_at, user_id, guide_id FROM ({latest}) a
            WHERE comment <> '' AND ((kind = 'nps' AND score <= 6) OR (kind = 'csat' AND score <= 2))
            ORDER BY responded_at DESC, id DESC LIMIT %s""",
        [*params, int(follow_ups)],
    )

    def rate(kind: str) -> float | None:
        return responders.get(kind, 0) / shown[kind] if shown.get(kind) else None

    return SurveyReport(
        meta=ReportMeta.of(filters, scope.segment_method), interval=interval, nps=nps, csat=csat,
        nps_over_time=tuple(NpsPeriod(day, n) for day, n, c in over_time if n.responses),
        csat_over_time=tuple(CsatPeriod(day, c) for day, n, c in over_time if c.responses),
        nps_users_shown=int(shown.get("nps", 0)), nps_response_rate=rate("nps"),
        csat_users_shown=int(shown.get("csat", 0)), csat_response_rate=rate("csat"),
        by_stage=tuple(GroupScores(row[0] or "", *_summaries(row[1:])) for row in stages),
        by_segment=tuple(by_segment),
        detractor_follow_ups=tuple(
            FollowUp(kind, int(score), comment, stage or "", _as_datetime(at), int(user), int(guide))
            for kind, score, comment, stage, at, user, guide in comments
        ),
    )


def _as_datetime(value) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = parse_datetime(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
