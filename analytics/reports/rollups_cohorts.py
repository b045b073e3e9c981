"""Cohort rollups: per first-seen day, where its users got in the journey and when they came back.

A user belongs to exactly one first-seen day, so a report sums these rows over the days of its
range and gets the same numbers as counting the users one by one — when it looks at every user
(a segment or a variant needs the per-user tables). An incremental refresh recomputes only what
recent rows can change: the first-seen days of users first seen or moved in the window (their
rows are rewritten whole), and the (first-seen day, week) cells whose week holds a refreshed day.
Users deleted or merged away leave their counts until the next full rebuild.
"""
from __future__ import annotations

from datetime import date, timedelta

from analytics.reports import sql
from analytics.reports.filters import day_start


def cohort_stages_build(*, application_id: int, since_day: date | None) -> int:
    """Users per first-seen day × furthest stage order reached (-1 when they have no transition)."""
    first_day = sql.day_of("u.first_seen_at")
    days_sql, days_params = "", []
    if since_day is not None:
        affected = f"""SELECT {first_day} FROM analytics_enduser u
            WHERE u.application_id = %s AND u.first_seen_at IS NOT NULL
              AND (u.first_seen_at >= %s OR u.id IN (SELECT t.user_id FROM analytics_stagetransition t
                                                    WHERE t.application_id = %s AND t.at >= %s))"""
        since_at = sql.ts_param(day_start(since_day))
        days_params = [application_id, since_at, application_id, since_at]
        days_sql = f"AND {first_day} IN ({affected})"
        sql.execute(f"DELETE FROM analytics_cohortdaystage WHERE application_id = %s AND first_day IN ({affected})",
                    [application_id, *days_params])
    else:
        sql.execute("DELETE FROM analytics_cohortdaystage WHERE application_id = %s", [application_id])
    return sql.execute(
        f"""
        INSERT INTO analytics_cohortdaystage (application_id, first_day, furthest_order, users)
        SELECT %s, first_day, furthest, COUNT(*) FROM (
            SELECT u.id, {first_day} AS first_day, COALESCE(MAX(s."order"), -1) AS furthest
            FROM analytics_enduser u
            LEFT JOIN analytics_stagetransition t ON t.user_id = u.id
            LEFT JOIN onboarding_journeystage s ON s.id = t.to_stage_id
            WHERE u.application_id = %s AND u.first_seen_at IS NOT NULL {days_sql}
            GROUP BY u.id, {first_day}
        ) per_user WHERE 1 = 1
        GROUP BY first_day, furthest
        """,
        [application_id, application_id, *days_params],
    )


def cohort_activity_build(*, application_id: int, since_day: date | None) -> int:
    """Users per first-seen day × week after it who were active that week (from ``UserDayActivity``)."""
    first_day = sql.day_of("u.first_seen_at")
    window, params = "", []
    if since_day is None:
        sql.execute("DELETE FROM analytics_cohortdayactivity WHERE application_id = %s", [application_id])
    else:
        # A week that holds a refreshed day starts at most six days before the first of them.
        window, params = "AND a.day >= %s", [sql.date_param(since_day - timedelta(days=6))]
    touched, touched_params = "", []
    if since_day is not None:
        touched = "AND EXISTS (SELECT 1 FROM per t WHERE t.first_day = per.first_day AND t.week = per.week AND t.day >= %s)"
        touched_params = [sql.date_param(since_day)]
    return sql.execute(
        f"""
        WITH per AS (
            SELECT a.user_id, {first_day} AS first_day, {sql.days_between('a.day', first_day)} / 7 AS week, a.day
            FROM analytics_userdayactivity a JOIN analytics_enduser u ON u.id = a.user_id
            WHERE a.application_id = %s AND u.first_seen_at IS NOT NULL AND a.day >= {first_day} {window}
        )
        INSERT INTO analytics_cohortdayactivity (application_id, first_day, week, users)
        SELECT %s, first_day, week, COUNT(DISTINCT user_id) FROM per WHERE 1 = 1 {touched}
        GROUP BY first_day, week
        ON CONFLICT (application_id, first_day, week) DO UPDATE SET users = excluded.users
        WHERE analytics_cohortdayactivity.users <> excluded.users
        """,
        [application_id, *params, application_id, *touched_params],
    )
