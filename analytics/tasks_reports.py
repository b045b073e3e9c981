"""Celery tasks that keep the report rollups and snapshots fresh; each calls one service and is safe to run twice."""
from __future__ import annotations

from datetime import UTC, datetime

from celery import shared_task

from analytics.reports.rollups import rollups_refresh, rollups_refresh_incremental
from analytics.reports.snapshots import SNAPSHOTS, report_snapshot_refresh
from onboarding.models import Application


@shared_task(name="analytics.reports_rollups_refresh", acks_late=True)
def reports_rollups_refresh(application_id: int, since: str | None = None) -> dict:
    """Refresh one application's rollups from ``since`` (ISO datetime), or incrementally when omitted."""
    if since:
        result = rollups_refresh(application_id=application_id, since=datetime.fromisoformat(since))
    else:
        result = rollups_refresh_incremental(application_id=application_id)
    return {"application_id": application_id, "user_days": result.user_days, "event_days": result.event_days,
            "stage_days": result.stage_days, "per_user_rows": result.per_user_rows,
            "cohort_rows": result.cohort_rows}


@shared_task(name="analytics.reports_rollups_refresh_all")
def reports_rollups_refresh_all() -> int:
    """Fan out an incremental refresh per application (the beat schedule calls this)."""
    ids = list(Application.objects.values_list("id", flat=True))
    for application_id in ids:
        reports_rollups_refresh.delay(application_id)
    return len(ids)


@shared_task(name="analytics.reports_snapshot_refresh", acks_late=True)
def reports_snapshot_refresh(application_id: int, report: str) -> str:
    """Recompute one stored report snapshot for the default period ending now."""
    snapshot = report_snapshot_refresh(application_id=application_id, report=report, now=datetime.now(UTC))
    return snapshot.computed_at.isoformat()


@shared_task(name="analytics.reports_snapshots_refresh_all")
def reports_snapshots_refresh_all() -> int:
    """Fan out a snapshot refresh per application and snapshot report (the beat schedule calls this)."""
    ids = list(Application.objects.values_list("id", flat=True))
    for application_id in ids:
        for report in SNAPSHOTS:
            reports_snapshot_refresh.delay(application_id, report)
    return len(ids) * len(SNAPSHOTS)
