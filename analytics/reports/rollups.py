"""Rollup tables that make reports fast: recomputed per day from the raw rows and upserted.

Besides the daily tables here, one refresh builds the per-user tables of ``rollups_users`` (guide
engagement, product events per week, revenue per month) and the cohort tables of
``rollups_cohorts``, in one transaction, after the user-day activity they read.

Every refreshed day is recomputed whole from ``analytics_event`` / ``analytics_stagetransition``
and written with ``INSERT … ON CONFLICT (unique key) DO UPDATE``, so running a refresh twice (or a
retried task) changes nothing. ``since`` is rounded down to the start of its UTC day; ``None``
rebuilds the application's rollups from scratch (which also forgets deleted events). Rows whose
numbers did not change are not rewritten. The ``*_days`` counts returned are rows written.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.db import transaction

from analytics.models import (
    CohortDayActivity,
    CohortDayStage,
    EventNameDaily,
    ReportRollupState,
    StageEntryDaily,
    UserDayActivity,
    UserFeatureWeek,
    UserGuideEvent,
    UserMonthRevenue,
)
from analytics.reports import sql
from analytics.reports.rollups_cohorts import cohort_activity_build, cohort_stages_build
from analytics.reports.rollups_users import (
    feature_weeks_build,
    guide_events_build,
    month_revenue_build,
)

logger = logging.getLogger("analytics")

LATE_EVENTS = timedelta(days=2)  # how far back an incremental refresh looks, for late events
STALE_AFTER = timedelta(minutes=5)
ROLLUP_MODELS = (UserDayActivity, EventNameDaily, StageEntryDaily, UserGuideEvent, UserFeatureWeek, UserMonthRevenue,
                 CohortDayStage, CohortDayActivity)


@dataclass(frozen=True)
class RollupRefresh:
    application_id: int
    since: datetime | None
    user_days: int
    event_days: int
    stage_days: int
    per_user_rows: int  # guide events, feature weeks and revenue months written
    cohort_rows: int


def rollups_refresh(*, application_id: int, since: datetime | None, now: datetime | None = None) -> RollupRefresh:
    now = now or datetime.now(UTC)
    start = datetime.combine(since.date(), time.min, tzinfo=UTC) if since else None
    event_window, event_params = ("AND timestamp >= %s", [sql.ts_param(start)]) if start else ("", [])
    stage_window, stage_params = ("AND at >= %s", [sql.ts_param(start)]) if start else ("", [])
    day = sql.day_of("timestamp")
    with transaction.atomic():
        _foreign_keys_checked_at_once()
        if start is None:
            for model in ROLLUP_MODELS:
                model.objects.filter(application_id=application_id).delete()
        user_days = sql.execute(
            f"""
            INSERT INTO analytics_userdayactivity (application_id, user_id, day, events)
            SELECT application_id, user_id, {day}, COUNT(*) FROM analytics_event
            WHERE application_id = %s {event_window}
            GROUP BY application_id, user_id, {day}
            ON CONFLICT (user_id, day) DO UPDATE SET events = excluded.events
            WHERE analytics_userdayactivity.events <> excluded.events
            """,
            [application_id, *event_params],
        )
        event_days = sql.execute(
            f"""
            INSERT INTO analytics_eventnamedaily (application_id, day, name, events, users)
            SELECT application_id, {day}, name, COUNT(*), COUNT(DISTINCT user_id) FROM analytics_event
            WHERE application_id = %s {event_window}
            GROUP BY application_id, {day}, name
            ON CONFLICT (application_id, day, name) DO UPDATE SET events = excluded.events, users = excluded.users
            WHERE analytics_eventnamedaily.events <> excluded.events OR analytics_eventnamedaily.users <> excluded.users
            """,
            [application_id, *event_params],
        )
        at_day = sql.day_of("at")
        stage_days = sql.execute(
            f"""
            INSERT INTO analytics_stageentrydaily (application_id, stage_id, day, entries, users)
            SELECT application_id, to_stage_id, {at_day}, COUNT(*), COUNT(DISTINCT user_id)
            FROM analytics_stagetransition
            WHERE application_id = %s {stage_window}
            GROUP BY application_id, to_stage_id, {at_day}
            ON CONFLICT (application_id, stage_id, day) DO UPDATE
            SET entries = excluded.entries, users = excluded.users
            WHERE analytics_stageentrydaily.entries <> excluded.entries OR analytics_stageentrydaily.users <> excluded.users
            """,
            [application_id, *stage_params],
        )
        per_user_rows = sum(build(application_id=application_id, since=start)
                            for build in (guide_events_build, feature_weeks_build, month_revenue_build))
        since_day = start.date() if start else None
        cohort_rows = (cohort_stages_build(application_id=application_id, since_day=since_day)
                       + cohort_activity_build(application_id=application_id, since_day=since_day))
        ReportRollupState.objects.update_or_create(
            application_id=application_id, defaults={"refreshed_at": now, "refreshed_since": start}
        )
        if sql.postgres():
            sql.execute("SET CONSTRAINTS ALL DEFERRED")  # back to Django's default for the rest of an outer transaction
    if start is None and sql.postgres():
        # A rebuilt table has no statistics until autovacuum gets to it; until then PostgreSQL plans
        # report queries as if it were empty (nested loops over hundreds of thousands of rows).
        sql.execute("ANALYZE " + ", ".join(model._meta.db_table for model in ROLLUP_MODELS))
    result = RollupRefresh(application_id, start, user_days, event_days, stage_days, per_user_rows, cohort_rows)
    logger.info("reports.rollups_refreshed", extra={"application_id": application_id, "user_days": user_days,
                                                    "event_days": event_days, "stage_days": stage_days,
                                                    "per_user_rows": per_user_rows, "cohort_rows": cohort_rows})
    return result


def _foreign_keys_checked_at_once() -> None:
    """Check each written row's user now, not at commit: a user erased while the refresh runs then
    waits for it (and its rows go with the user) instead of failing the whole refresh at commit."""
    if sql.postgres():
        sql.execute("SET CONSTRAINTS ALL IMMEDIATE")


def rollups_refresh_incremental(*, application_id: int, now: datetime | None = None) -> RollupRefresh:
    """Refresh from a little before the last refresh (late events), or everything the first time."""
    now = now or datetime.now(UTC)
    state = ReportRollupState.objects.filter(application_id=application_id).first()
    since = state.refreshed_at - LATE_EVENTS if state else None
    return rollups_refresh(application_id=application_id, since=since, now=now)


def rollups_refresh_if_stale(*, application_id: int, now: datetime) -> RollupRefresh | None:
    """For installations without a Celery beat (embedded): refresh on read when the rollups are old."""
    if not getattr(settings, "WAYLINE_REPORTS_REFRESH_ON_READ", settings.CELERY_TASK_ALWAYS_EAGER):
        return None
    state = ReportRollupState.objects.filter(application_id=application_id).first()
    if state and now - STALE_AFTER <= state.refreshed_at <= now:
        return None
    return rollups_refresh_incremental(application_id=application_id, now=now)
