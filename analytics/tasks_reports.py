"""Celery tasks that keep the report rollups fresh; each calls one service and is safe to run twice."""
from __future__ import annotations

from datetime import datetime

from celery import shared_task

from analytics.reports.rollups import rollups_refresh, rollups_refresh_incremental
from onboarding.models import Application


@shared_task(name="analytics.reports_rollups_refresh", acks_late=True)
def reports_rollups_refresh(application_id: int, since: str | None = None) -> dict:
    """Refresh one application's rollups from ``since`` (ISO datetime), or incrementally when omitted."""
    if since:
        result = rollups_refresh(application_id=application_id, since=datetime.fromisoformat(since))
    else:
        result = rollups_refresh_incremental(application_id=application_id)
    return {"application_id": application_id, "user_days": result.user_days, "event_days": result.event_days,
            "stage_days": result.stage_days}


@shared_task(name="analytics.reports_rollups_refresh_all")
def reports_rollups_refresh_all() -> int:
    """Fan out an incremental refresh per application (the beat schedule calls this)."""
    ids = list(Application.objects.values_list("id", flat=True))
    for application_id in ids:
        reports_rollups_refresh.delay(application_id)
    return len(ids)
