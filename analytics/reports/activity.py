"""SQL pieces about activity, read from the ``UserDayActivity`` rollup.

Week ``k`` after a user was first seen is the days ``[7k, 7k + 7)`` after their first-seen UTC day
(week 0 is their first week). A user is *retained* when they were active in week ``retention_week``
(4 by default); whether they were is only known once that week is over, so reports split users
into retained, churned and "not yet known".
"""
from __future__ import annotations

from analytics.reports import sql

DEFAULT_RETENTION_WEEK = 4


def retention_status_sql(*, user: str, first_seen: str, week: int, today_param: str = "%s") -> str:
    """1 retained, 0 churned, NULL not yet known; needs one parameter: today's date."""
    first_day = sql.day_of(first_seen)
    start, end = sql.plus_days(first_day, 7 * int(week)), sql.plus_days(first_day, 7 * int(week) + 7)
    return f"""(CASE WHEN {first_seen} IS NULL OR {end} > {today_param} THEN NULL
                WHEN EXISTS (SELECT 1 FROM analytics_userdayactivity ra WHERE ra.user_id = {user}
                             AND ra.day >= {start} AND ra.day < {end}) THEN 1 ELSE 0 END)"""
