"""Revenue, churn and lifetime value from revenue events (``subscription_paid`` with ``amount``).

Per calendar month: revenue (sum of the numeric ``amount`` property; other values are ignored),
paying users, ARPU = revenue / paying users, and churn = share of the users who paid in the
previous month who did not pay in this one (only for months that are over). The summary's ARPU
is revenue per paying-user-month and its churn is churned / base over the complete months;
expected lifetime = 1 / churn months and CLV = ARPU × lifetime (``None`` when churn is 0 or
unknown). The same summary is given per persona segment and per monthly cohort (first seen).
Payments of the default event and property are read from the ``UserMonthRevenue`` rollup (per user
× month); another event or property is summed from the raw events.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from analytics.reports import sql
from analytics.reports.filters import (
    Report,
    ReportFilters,
    ReportMeta,
    day_start,
    months_in_range,
    next_month_start,
    segment_users,
    user_scope,
)
from analytics.reports.rollups_users import REVENUE_AMOUNT, REVENUE_EVENT
from onboarding.models import Segment


@dataclass(frozen=True)
class RevenueMonth:
    month: date
    revenue: float
    paying_users: int
    arpu: float | None
    previous_paying_users: int
    churned_users: int
    churn_rate: float | None  # None while the month is not over or nobody paid the month before
    complete: bool


@dataclass(frozen=True)
class RevenueSummary:
    revenue: float
    arpu: float | None  # per paying user per month
    monthly_churn: float | None
    expected_lifetime_months: float | None
    clv: float | None


@dataclass(frozen=True)
class GroupRevenue:
    group: str  # segment slug, or the cohort month as YYYY-MM
    users: int  # users in the group (cohort: first seen that month)
    summary: RevenueSummary


@dataclass(frozen=True)
class RevenueReport(Report):
    meta: ReportMeta
    event: str
    amount_property: str
    months: tuple[RevenueMonth, ...]
    summary: RevenueSummary
    by_segment: tuple[GroupRevenue, ...]
    by_cohort: tuple[GroupRevenue, ...]

    def rows(self) -> list[dict]:
        return [{"month": m.month.isoformat(), "revenue": m.revenue, "paying_users": m.paying_users, "arpu": m.arpu,
                 "churn_rate": m.churn_rate} for m in self.months]


def _monthly(filters: ReportFilters, users, event: str, amount: str) -> tuple[RevenueMonth, ...]:
    months = months_in_range(filters.start, filters.end)
    today = filters.now.date()
    users_sql, params = sql.users_subquery(users)
    previous = (months[0] - timedelta(days=1)).replace(day=1)
    if (event, amount) == (REVENUE_EVENT, REVENUE_AMOUNT):
        paid = f"""SELECT r.user_id, r.month AS m, r.amount FROM analytics_usermonthrevenue r
                   WHERE r.application_id = %s AND r.month >= %s AND r.month < %s
                     AND {sql.in_users('r.user_id', users_sql)}"""
        paid_params = [filters.application_id, sql.date_param(previous),
                       sql.date_param(next_month_start(months[-1])), *params]
    else:
        paid = f"""SELECT e.user_id, {sql.month_of(sql.day_of('e.timestamp'))} AS m,
                          SUM({sql.json_number('e.properties', amount)}) AS amount
                   FROM analytics_event e
                   WHERE e.application_id = %s AND e.name = %s AND e.timestamp >= %s AND e.timestamp < %s
                     AND {sql.in_users('e.user_id', users_sql)}
                   GROUP BY 1, 2"""
        paid_params = [filters.application_id, event, sql.ts_param(day_start(previous)),
                       sql.ts_param(day_start(next_month_start(months[-1]))), *params]
    totals = {sql.as_date(m): (float(r or 0), int(n)) for m, r, n in sql.fetch(
        f"SELECT m, SUM(amount), COUNT(*) FROM ({paid}) p GROUP BY m", paid_params)}
    churn = {sql.as_date(m): (int(b), int(c or 0)) for m, b, c in sql.fetch(
        f"""WITH paid AS ({paid})
            SELECT {sql.next_month('a.m')}, COUNT(*), SUM(CASE WHEN b.user_id IS NULL THEN 1 ELSE 0 END)
            FROM paid a LEFT JOIN paid b ON b.user_id = a.user_id AND b.m = {sql.next_month('a.m')}
            GROUP BY 1""",
        paid_params,
    )}
    rows = []
    for month in months:
        revenue, paying = totals.get(month, (0.0, 0))
        base, churned = churn.get(month, (0, 0))
        complete = next_month_start(month) <= today
        rows.append(RevenueMonth(month, revenue, paying, revenue / paying if paying else None, base, churned,
                                 churned / base if base and complete else None, complete))
    return tuple(rows)


def _summary(months: tuple[RevenueMonth, ...]) -> RevenueSummary:
    complete = [m for m in months if m.complete]
    revenue = sum(m.revenue for m in months)
    paying_months = sum(m.paying_users for m in complete)
    base, churned = sum(m.previous_paying_users for m in complete), sum(m.churned_users for m in complete)
    arpu = sum(m.revenue for m in complete) / paying_months if paying_months else None
    churn = churned / base if base else None
    lifetime = 1 / churn if churn else None
    return RevenueSummary(revenue, arpu, churn, lifetime, arpu * lifetime if arpu is not None and lifetime else None)


def revenue_report(*, filters: ReportFilters, event: str = REVENUE_EVENT,
                   amount_property: str = REVENUE_AMOUNT) -> RevenueReport:
    scope = user_scope(filters)
    months = _monthly(filters, scope, event, amount_property)
    by_segment = []
    for segment in Segment.objects.filter(application_id=filters.application_id, is_persona=True).order_by("name"):
        members = segment_users(filters, segment).filter(id__in=scope.users)
        by_segment.append(GroupRevenue(segment.slug, members.count(),
                                       _summary(_monthly(filters, members, event, amount_property))))
    by_cohort = []
    for month in months_in_range(filters.start, filters.end):
        cohort = scope.users.filter(first_seen_at__gte=day_start(month),
                                    first_seen_at__lt=day_start(next_month_start(month)))
        size = cohort.count()
        if size:
            by_cohort.append(GroupRevenue(month.strftime("%Y-%m"), size,
                                          _summary(_monthly(filters, cohort, event, amount_property))))
    return RevenueReport(meta=ReportMeta.of(filters, scope.segment_method), event=event,
                         amount_property=amount_property, months=months, summary=_summary(months),
                         by_segment=tuple(by_segment), by_cohort=tuple(by_cohort))
