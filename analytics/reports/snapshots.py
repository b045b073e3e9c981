"""Report snapshots: each report computed by Celery for the pages' default question and stored.

Counting distinct users over a 90-day period of a million-user application takes seconds even
from the rollups, and the journey map is four reports per persona. Celery beat refreshes a
snapshot of every report per application (``reports_snapshots_refresh_all``) for what a page
shows when opened: the default period, every user, the report's default options. Pages serve the
stored one for that question, saying when it was computed (the API does for the journey map);
any other question is computed from the rollups when asked.
A page view that finds no snapshot computes one there and then (the first view of a new
application, or an installation without a beat); one that finds a stale snapshot still serves it
and asks for a refresh in the background.
"""
from __future__ import annotations

import logging
import time
import typing
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.core.cache import cache

from analytics.models import ReportSnapshot
from analytics.reports.filters import ReportFilters, from_jsonable
from analytics.reports.registry import REPORTS

logger = logging.getLogger("analytics")

SNAPSHOT_DAYS = 90  # the report pages' default period, ending today
STALE_AFTER = timedelta(minutes=30)
SNAPSHOTS = tuple(REPORTS)  # every report, by its registry name


@dataclass(frozen=True)
class Snapshot:
    report: Any  # the report's dataclass
    computed_at: datetime
    seconds: float
    stale: bool


def snapshot_range(now: datetime) -> tuple[date, date]:
    end = now.date()
    return end - timedelta(days=SNAPSHOT_DAYS - 1), end


def report_snapshot_refresh(*, application_id: int, report: str, now: datetime) -> ReportSnapshot:
    """Compute ``report`` for the default period ending ``now`` and store it (replacing the last one)."""
    build = REPORTS[report].build
    start, end = snapshot_range(now)
    started = time.perf_counter()
    result = build(filters=ReportFilters.build(application_id=application_id, start=start, end=end, now=now))
    seconds = time.perf_counter() - started
    snapshot, _ = ReportSnapshot.objects.update_or_create(
        application_id=application_id, report=report,
        defaults={"start": start, "end": end, "computed_at": now, "seconds": seconds, "payload": result.to_dict()},
    )
    logger.info("reports.snapshot_refreshed", extra={"application_id": application_id, "report": report,
                                                     "seconds": round(seconds, 3)})
    return snapshot


def report_snapshot_get(*, application_id: int, report: str, now: datetime, refresh_later=None) -> Snapshot:
    """The stored snapshot (computed now when there is none); ``refresh_later(application_id)`` when stale."""
    kind = typing.get_type_hints(REPORTS[report].build)["return"]
    stored = ReportSnapshot.objects.filter(application_id=application_id, report=report).first()
    if stored is None:
        stored = report_snapshot_refresh(application_id=application_id, report=report, now=now)
    stale = stored.computed_at < now - STALE_AFTER or stored.end != snapshot_range(now)[1]
    if stale and refresh_later is not None and cache.add(f"wayline:snapshot:{report}:{application_id}", 1, 600):
        refresh_later(application_id)
    return Snapshot(from_jsonable(kind, stored.payload), stored.computed_at, stored.seconds, stale)
