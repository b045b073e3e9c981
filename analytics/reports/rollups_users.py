"""Per-user rollups read by guide performance, feature adoption and revenue, built from raw events.

Each builder recomputes its keys from the events at or after a window start (``None``: all of them)
and upserts on the unique key, so a rerun changes nothing. Where a key can also hold events from
before the window, the window starts at the key's own boundary (the Monday of the week, the first
day of the month), so the recomputed value is whole, or the upsert keeps the larger value
(``last_at``: only a later time replaces it), so an incremental refresh ends where a full rebuild does.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from analytics.reports import sql

REVENUE_EVENT = "subscription_paid"
REVENUE_AMOUNT = "amount"
FULL_WEEK = 0b1111111


def guide_events_build(*, application_id: int, since: datetime | None) -> int:
    """Last tour-step view per user × guide × step, and last button click per user × guide."""
    window, params = _since("e.timestamp", since)
    guide = sql.json_text("e.properties", "guide_id")
    step = sql.json_number("e.properties", "step_index")
    return sql.execute(
        f"""
        INSERT INTO analytics_userguideevent (application_id, user_id, guide_id, kind, step, last_at)
        SELECT e.application_id, e.user_id, g.id,
               CASE WHEN e.name = '$cta_clicked' THEN 'cta' ELSE 'step' END,
               CASE WHEN e.name = '$cta_clicked' THEN -1 ELSE CAST({step} AS INTEGER) END,
               MAX(e.timestamp)
        FROM analytics_event e JOIN onboarding_guide g ON CAST(g.id AS TEXT) = {guide} AND g.application_id = %s
        WHERE e.application_id = %s AND e.name IN ('$cta_clicked', '$guide_step_viewed') {window}
          AND (e.name = '$cta_clicked' OR {step} IS NOT NULL)
        GROUP BY 1, 2, 3, 4, 5
        ON CONFLICT (user_id, guide_id, kind, step) DO UPDATE SET last_at = excluded.last_at
        WHERE analytics_userguideevent.last_at < excluded.last_at
        """,
        [application_id, application_id, *params],
    )


def feature_weeks_build(*, application_id: int, since: datetime | None) -> int:
    """Weekday masks per user × ISO week × product event, for whole weeks from ``since``'s Monday."""
    start = None
    if since is not None:
        day = since.astimezone(UTC).date()
        start = datetime.combine(day - timedelta(days=day.weekday()), time.min, tzinfo=UTC)
    window, params = _since("timestamp", start)
    day = sql.day_of("timestamp")
    week = sql.week_of(day)
    return sql.execute(
        f"""
        INSERT INTO analytics_userfeatureweek (application_id, user_id, week, name, days)
        SELECT application_id, user_id, week, name, SUM(bit) FROM (
            SELECT DISTINCT application_id, user_id, {week} AS week, name,
                   1 << {sql.days_between(day, week)} AS bit
            FROM analytics_event
            WHERE application_id = %s AND name NOT LIKE '$%%' {window}
        ) d
        GROUP BY application_id, user_id, week, name
        ON CONFLICT (user_id, week, name) DO UPDATE SET days = excluded.days
        WHERE analytics_userfeatureweek.days <> excluded.days
        """,
        [application_id, *params],
    )


def month_revenue_build(*, application_id: int, since: datetime | None) -> int:
    """Amount paid and payments per user × month, for whole months from ``since``'s month."""
    start = None
    if since is not None:
        start = datetime.combine(since.astimezone(UTC).date().replace(day=1), time.min, tzinfo=UTC)
    window, params = _since("e.timestamp", start)
    month = sql.month_of(sql.day_of("e.timestamp"))
    amount = sql.json_number("e.properties", REVENUE_AMOUNT)
    changed = ("analytics_usermonthrevenue.payments <> excluded.payments OR "
               "COALESCE(analytics_usermonthrevenue.amount, -1) <> COALESCE(excluded.amount, -1)")
    return sql.execute(
        f"""
        INSERT INTO analytics_usermonthrevenue (application_id, user_id, month, amount, payments)
        SELECT e.application_id, e.user_id, {month}, SUM({amount}), COUNT(*) FROM analytics_event e
        WHERE e.application_id = %s AND e.name = %s {window}
        GROUP BY 1, 2, 3
        ON CONFLICT (user_id, month) DO UPDATE SET amount = excluded.amount, payments = excluded.payments
        WHERE {changed}
        """,
        [application_id, REVENUE_EVENT, *params],
    )


def week_masks(start: date, end: date) -> tuple[date, date, dict[date, int]]:
    """The Mondays of the first and last week of [start, end] and the weekday mask of each (others: all)."""
    first, last = start - timedelta(days=start.weekday()), end - timedelta(days=end.weekday())
    masks = {first: FULL_WEEK, last: FULL_WEEK}
    for monday in masks:
        masks[monday] = sum(1 << d for d in range(7) if start <= monday + timedelta(days=d) <= end)
    return first, last, masks


def in_week_range(alias: str, start: date, end: date) -> tuple[str, list]:
    """``alias``'s rows (UserFeatureWeek) with a day inside [start, end]."""
    first, last, masks = week_masks(start, end)
    placeholder = sql.date_placeholder()
    cases = " ".join(f"WHEN {alias}.week = {placeholder} THEN %s" for _ in masks)
    params = [sql.date_param(first), sql.date_param(last)]
    for monday, mask in masks.items():
        params += [sql.date_param(monday), mask]
    return (f"{alias}.week >= {placeholder} AND {alias}.week <= {placeholder} "
            f"AND ({alias}.days & CASE {cases} ELSE {FULL_WEEK} END) <> 0"), params


def _since(column: str, start: datetime | None) -> tuple[str, list]:
    return (f"AND {column} >= %s", [sql.ts_param(start)]) if start else ("", [])
