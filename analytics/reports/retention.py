"""Retention and churn from the ``UserDayActivity`` rollup (cohort cells from ``CohortDayActivity``
and ``CohortDayStage`` when there is no segment or variant: the same counts, summed per day).

Cohort table: users first seen in the range, grouped by the ISO week of their first-seen day;
cell ``k`` is the share of the cohort active in week ``k`` after first seen (days [7k, 7k + 7)
after their own first day; see ``activity``). A cell is ``complete`` once that week is over for
every member of the cohort.

Churn by month: a user churns ``inactive_days`` (default 30) after an active day that is not
followed by another within that many days. A month's churn rate is, of the users active in the
``inactive_days`` before the month began ("active at the start"), the share who churn within it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from analytics.reports import sql
from analytics.reports.filters import (
    Report,
    ReportFilters,
    ReportMeta,
    months_in_range,
    next_month_start,
    segment_users,
    user_scope,
)
from onboarding.models import Segment


@dataclass(frozen=True)
class RetentionCell:
    week: int  # weeks after first seen (0 = the first week)
    active_users: int
    share: float | None
    complete: bool


@dataclass(frozen=True)
class CohortRow:
    cohort_week: date  # Monday of the ISO week the users were first seen in
    users: int
    cells: tuple[RetentionCell, ...]


@dataclass(frozen=True)
class MonthlyChurn:
    month: date
    active_at_start: int
    churned: int
    churn_rate: float | None
    complete: bool  # the month is over


@dataclass(frozen=True)
class SegmentChurn:
    segment: str
    active_at_start: int  # summed over the months
    churned: int
    churn_rate: float | None


@dataclass(frozen=True)
class RetentionReport(Report):
    meta: ReportMeta
    weeks: int
    inactive_days: int
    cohorts: tuple[CohortRow, ...]
    churn: tuple[MonthlyChurn, ...]
    churn_by_segment: tuple[SegmentChurn, ...]  # persona segments

    def rows(self) -> list[dict]:
        rows = []
        for cohort in self.cohorts:
            row = {"cohort_week": cohort.cohort_week.isoformat(), "users": cohort.users}
            row.update({f"week_{c.week}": c.share for c in cohort.cells})
            rows.append(row)
        return rows


def retention_report(*, filters: ReportFilters, weeks: int = 8, inactive_days: int = 30) -> RetentionReport:
    scope = user_scope(filters, cohort=True)
    today = filters.now.date()
    cohorts = _cohorts(filters, scope.users, weeks, today) if not filters.everyone else _cohorts_rolled_up(
        filters, weeks, today)
    personas = list(Segment.objects.filter(application_id=filters.application_id, is_persona=True).order_by("name"))
    counts = _churn(filters, user_scope(filters), personas, inactive_days, today)
    churn = []
    for month in months_in_range(filters.start, filters.end):
        n = sum(base for (m, _), (base, _) in counts.items() if m == month)
        c = sum(churned for (m, _), (_, churned) in counts.items() if m == month)
        churn.append(MonthlyChurn(month, n, c, c / n if n else None, next_month_start(month) <= today))
    by_segment = []
    for index, segment in enumerate(personas):
        base = sum(b for (_, g), (b, _) in counts.items() if g == index)
        churned = sum(c for (_, g), (_, c) in counts.items() if g == index)
        by_segment.append(SegmentChurn(segment.slug, base, churned, churned / base if base else None))
    return RetentionReport(meta=ReportMeta.of(filters, scope.segment_method), weeks=weeks,
                           inactive_days=inactive_days, cohorts=cohorts, churn=tuple(churn),
                           churn_by_segment=tuple(by_segment))


def _cohorts(filters: ReportFilters, users, weeks: int, today: date) -> tuple[CohortRow, ...]:
    users_sql, params = sql.subquery(users)
    first_day = sql.day_of("u.first_seen_at")
    cohort_week = sql.week_of(first_day)
    sizes = {sql.as_date(w): int(n) for w, n in sql.fetch(
        f"SELECT {cohort_week}, COUNT(*) FROM analytics_enduser u WHERE u.id IN ({users_sql}) GROUP BY 1", params)}
    cells = {(sql.as_date(w), int(k)): int(n) for w, k, n in sql.fetch(
        f"""SELECT cohort_week, k, COUNT(DISTINCT user_id) FROM (
                SELECT u.id AS user_id, {cohort_week} AS cohort_week,
                       {sql.days_between('a.day', first_day)} / 7 AS k
                FROM analytics_enduser u JOIN analytics_userdayactivity a ON a.user_id = u.id
                WHERE u.id IN ({users_sql}) AND a.day >= {first_day}
            ) x WHERE k <= %s GROUP BY cohort_week, k""",
        [*params, int(weeks)],
    )}
    return _cohort_rows(sizes, cells, weeks, today)


def _cohorts_rolled_up(filters: ReportFilters, weeks: int, today: date) -> tuple[CohortRow, ...]:
    week = sql.week_of("first_day")
    in_range = "application_id = %s AND first_day >= %s AND first_day <= %s"
    params = [filters.application_id, sql.date_param(filters.start), sql.date_param(filters.end)]
    sizes = {sql.as_date(w): int(n) for w, n in sql.fetch(
        f"SELECT {week}, SUM(users) FROM analytics_cohortdaystage WHERE {in_range} GROUP BY 1", params)}
    cells = {(sql.as_date(w), int(k)): int(n) for w, k, n in sql.fetch(
        f"SELECT {week}, week, SUM(users) FROM analytics_cohortdayactivity WHERE {in_range} AND week <= %s GROUP BY 1, 2",
        [*params, int(weeks)])}
    return _cohort_rows(sizes, cells, weeks, today)


def _cohort_rows(sizes: dict[date, int], cells: dict[tuple[date, int], int], weeks: int,
                 today: date) -> tuple[CohortRow, ...]:
    rows = []
    for week in sorted(sizes):
        size = sizes[week]
        rows.append(CohortRow(week, size, tuple(
            RetentionCell(k, cells.get((week, k), 0), cells.get((week, k), 0) / size,
                          week + timedelta(days=6 + 7 * k + 7) <= today)
            for k in range(weeks + 1)
        )))
    return tuple(rows)


def _churn(filters: ReportFilters, users, personas: list[Segment], inactive_days: int,
           today: date) -> dict[tuple[date, int], tuple[int, int]]:
    """(month, persona index or -1) -> (active at the start, churned), in one pass for all personas.

    A user in several personas counts in the first by name (personas are meant to be exclusive).
    """
    months = months_in_range(filters.start, filters.end)
    users_sql, params = sql.users_subquery(users)
    if users_sql is None:  # through the users table, so the activity scan reads its index alone
        users_sql, params = "SELECT id FROM analytics_enduser WHERE application_id = %s", [filters.application_id]
    cases, case_params = [], []
    for index, segment in enumerate(personas):
        member_sql, member_params = sql.subquery(segment_users(filters, segment))
        cases.append(f"WHEN u.id IN ({member_sql}) THEN {index}")
        case_params.extend(member_params)
    group = f"CASE {' '.join(cases)} ELSE -1 END" if cases else "-1"
    groups = f"SELECT u.id, {group} AS grp FROM analytics_enduser u WHERE u.application_id = %s"
    group_params = [*case_params, filters.application_id]
    values = ", ".join(f"({sql.date_placeholder()})" for _ in months)
    month_params = [sql.date_param(m) for m in months]
    days = int(inactive_days)
    base = sql.fetch(
        f"""WITH months(m) AS (VALUES {values}),
            active AS (
                SELECT DISTINCT months.m, a.user_id FROM months JOIN analytics_userdayactivity a
                  ON a.day >= {sql.plus_days('months.m', -days)} AND a.day < months.m
                WHERE a.user_id IN ({users_sql})
            )
            SELECT active.m, g.grp, COUNT(*) FROM active JOIN ({groups}) g ON g.id = active.user_id
            GROUP BY active.m, g.grp""",
        [*month_params, *params, *group_params],
    )
    churned = sql.fetch(
        f"""WITH months(m) AS (VALUES {values}),
            gaps AS (
                SELECT a.user_id, a.day, LEAD(a.day) OVER (PARTITION BY a.user_id ORDER BY a.day) AS next_day
                FROM analytics_userdayactivity a
                WHERE a.user_id IN ({users_sql}) AND a.day >= %s
            ),
            churn AS (
                SELECT DISTINCT months.m, gaps.user_id FROM gaps
                JOIN months ON months.m = {sql.month_of(sql.plus_days('gaps.day', days))}
                WHERE (gaps.next_day IS NULL OR gaps.next_day > {sql.plus_days('gaps.day', days)})
                  AND {sql.plus_days('gaps.day', days)} <= %s
            )
            SELECT churn.m, g.grp, COUNT(*) FROM churn JOIN ({groups}) g ON g.id = churn.user_id
            WHERE EXISTS (SELECT 1 FROM analytics_userdayactivity b WHERE b.user_id = churn.user_id
                          AND b.day >= {sql.plus_days('churn.m', -days)} AND b.day < churn.m)
            GROUP BY churn.m, g.grp""",
        [*month_params, *params, sql.date_param(months[0] - timedelta(days=days)), sql.date_param(today),
         *group_params],
    )
    counts: dict[tuple[date, int], list[int]] = {}
    for m, grp, n in base:
        counts.setdefault((sql.as_date(m), int(grp)), [0, 0])[0] = int(n)
    for m, grp, n in churned:
        counts.setdefault((sql.as_date(m), int(grp)), [0, 0])[1] = int(n)
    return {key: (b, c) for key, (b, c) in counts.items()}
