"""Selector health: how often a live tour's steps could not find their target on end users' pages.

The snippet sends ``$guide_step_viewed`` (``guide_id``, ``step_index``) when a step is drawn and
``$guide_render_failed`` (``guide_id``, ``step_index``, ``selector``, ``reason``) when its target
never appeared. A step's *views* are both together (every time the snippet tried to show it); its
failure share is failures / views. Counted since the live version was published (the selectors
may have changed then), at most ``WINDOW_DAYS`` back, in one grouped query.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q
from django.db.models.fields.json import KT
from django.utils import timezone

from analytics.models import Event
from onboarding.models import Guide

VIEWED = "$guide_step_viewed"
FAILED = "$guide_render_failed"
WINDOW_DAYS = 30


@dataclass(frozen=True)
class StepHealth:
    step_index: int  # 0 is the first step
    selector: str | None  # as reported by the last failure (None when it never failed)
    views: int  # times the snippet tried to show the step: drawn + failed
    failed: int  # times its target was not found
    failed_share: float | None  # failed / views; None without views


@dataclass(frozen=True)
class SelectorHealth:
    guide_id: int
    since: datetime
    steps: tuple[StepHealth, ...]  # steps with at least one view, in order


def guide_selector_health_get(*, guide: Guide, now: datetime | None = None) -> SelectorHealth | None:
    """Per-step render failures of a live guide; None when the guide is not live."""
    if guide.live_version is None:
        return None
    now = now or timezone.now()
    since = max(guide.live_version.published_at, now - timedelta(days=WINDOW_DAYS))
    rows = (
        Event.objects.filter(
            application_id=guide.application_id, name__in=(VIEWED, FAILED), timestamp__gte=since,
            properties__guide_id=guide.id,
        )
        .values(step=KT("properties__step_index"))
        .annotate(
            views=Count("pk"),
            failed=Count("pk", filter=Q(name=FAILED)),
            selector=Max(KT("properties__selector"), filter=Q(name=FAILED)),
        )
    )
    steps = sorted(
        (
            StepHealth(
                step_index=int(row["step"]), selector=row["selector"], views=row["views"], failed=row["failed"],
                failed_share=row["failed"] / row["views"] if row["views"] else None,
            )
            for row in rows
            if row["step"] is not None and str(row["step"]).isdigit()
        ),
        key=lambda step: step.step_index,
    )
    return SelectorHealth(guide_id=guide.id, since=since, steps=tuple(steps))


def selector_health_lines(health: SelectorHealth | None) -> list[str]:
    """The health in sentences for the guide's admin page, failing steps first."""
    if health is None:
        return ["Shown once the tour is live and users have seen it."]
    since = f"{health.since:%Y-%m-%d}"
    failing = [step for step in health.steps if step.failed]
    if not health.steps:
        return [f"No step views since {since}."]
    if not failing:
        views = sum(step.views for step in health.steps)
        return [f"Every target was found since {since} ({views} step views)."]
    return [
        f"Step {step.step_index + 1}" + (f" ({step.selector})" if step.selector else "")
        + f": target not found on {round(step.failed_share * 100)} % of views since {since}"
        + f" ({step.failed} of {step.views})."
        for step in failing
    ]
