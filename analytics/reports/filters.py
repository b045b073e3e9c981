"""What every report is asked for: an application, a date range, a segment, and "now"."""
from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass, field, fields, is_dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import Enum
from typing import Any

from django.db.models import Q, QuerySet

from analytics.models import EndUser
from analytics.reports.segments import segment_q
from onboarding.models import Segment

DEFAULT_DAYS = 30


@dataclass(frozen=True)
class VariantFilter:
    """Users who saw one variant of an experiment.

    Analytics knows nothing of experiments: an interface layer (the reports API, the report pages)
    resolves the variant and hands over its users as a queryset of ids (``values("user_id")``).
    """

    variant_id: int
    label: str  # e.g. "Shorter tour: treatment"
    users: QuerySet = field(compare=False)


@dataclass(frozen=True)
class ReportFilters:
    """``start`` and ``end`` are inclusive UTC calendar days; ``now`` is when the report is made."""

    application_id: int
    start: date
    end: date
    segment_id: int | None = None
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    variant: VariantFilter | None = None

    @classmethod
    def build(cls, *, application_id: int, start: date | None = None, end: date | None = None,
              segment_id: int | None = None, now: datetime | None = None,
              variant: VariantFilter | None = None) -> ReportFilters:
        now = now or datetime.now(UTC)
        end = end or now.date()
        start = start or end - timedelta(days=DEFAULT_DAYS - 1)
        if start > end:
            raise ValueError("start must not be after end")
        return cls(application_id=application_id, start=start, end=end, segment_id=segment_id, now=now,
                   variant=variant)

    @property
    def everyone(self) -> bool:
        """No segment and no variant: cohort rollups, which count every user, can answer."""
        return self.segment_id is None and self.variant is None

    @property
    def start_at(self) -> datetime:
        return datetime.combine(self.start, time.min, tzinfo=UTC)

    @property
    def end_at(self) -> datetime:
        """The first instant after the range (exclusive bound)."""
        return datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=UTC)

    def with_segment(self, segment_id: int | None) -> ReportFilters:
        return ReportFilters(self.application_id, self.start, self.end, segment_id, self.now, self.variant)


@dataclass(frozen=True)
class UserScope:
    """The users a report looks at, as a queryset of ``EndUser`` and how the segment was applied."""

    users: QuerySet
    segment_method: str | None  # None (no segment), "sql" (ORM filter on traits) or "python"
    everyone: bool = False  # every user of the application: SQL needs no user filter at all


def user_scope(filters: ReportFilters, *, segment_id: int | None = -1, cohort: bool = False) -> UserScope:
    """The application's users (first seen in the range when ``cohort``), in the segment and variant if any.

    ``segment_id=-1`` means "the filters' segment"; ``None`` means no segment.
    """
    segment_id = filters.segment_id if segment_id == -1 else segment_id
    users = EndUser.objects.filter(application_id=filters.application_id)
    if cohort:
        users = users.filter(first_seen_at__gte=filters.start_at, first_seen_at__lt=filters.end_at)
    method = None
    if segment_id is not None:
        segment = Segment.objects.get(pk=segment_id, application_id=filters.application_id)
        q, method = segment_q(segment, now=filters.now)
        users = users.filter(q)
    if filters.variant is not None:
        users = users.filter(id__in=filters.variant.users)
    return UserScope(users=users.values("id"), segment_method=method,
                     everyone=not cohort and segment_id is None and filters.variant is None)


def segment_users(filters: ReportFilters, segment: Segment) -> QuerySet:
    q, _ = segment_q(segment, now=filters.now)
    return EndUser.objects.filter(Q(application_id=filters.application_id) & q).values("id")


def months_in_range(start: date, end: date) -> list[date]:
    """The first day of every calendar month that overlaps [start, end]."""
    months, month = [], start.replace(day=1)
    while month <= end:
        months.append(month)
        month = next_month_start(month)
    return months


def next_month_start(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def jsonable(value: Any) -> Any:
    """Dataclasses, tuples, dates and enums as plain JSON values."""
    if is_dataclass(value) and not isinstance(value, type):
        return {f.name: jsonable(getattr(value, f.name)) for f in fields(value)}
    if isinstance(value, (list, tuple)):
        return [jsonable(item) for item in value]
    if isinstance(value, dict):
        return {str(key): jsonable(item) for key, item in value.items()}
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, float) and not math.isfinite(value):  # NaN and infinities are not JSON
        return None
    return value


def from_jsonable(kind: Any, value: Any) -> Any:
    """The inverse of ``jsonable`` for report dataclasses: rebuild ``kind`` from plain JSON values."""
    if value is None:
        return None
    origin, arguments = typing.get_origin(kind), typing.get_args(kind)
    if origin in (typing.Union, types.UnionType):
        return from_jsonable(next(a for a in arguments if a is not type(None)), value)
    if is_dataclass(kind):
        hints = typing.get_type_hints(kind)
        return kind(**{f.name: from_jsonable(hints[f.name], value.get(f.name)) for f in fields(kind) if f.init})
    if origin is tuple:
        if len(arguments) == 2 and arguments[1] is Ellipsis:
            return tuple(from_jsonable(arguments[0], item) for item in value)
        return tuple(from_jsonable(a, item) for a, item in zip(arguments, value))
    if origin is dict:
        return {key: from_jsonable(arguments[1], item) for key, item in value.items()}
    if kind is datetime:
        return datetime.fromisoformat(value)
    if kind is date:
        return date.fromisoformat(value)
    if kind is float and isinstance(value, int):
        return float(value)
    return value


@dataclass(frozen=True)
class ReportMeta:
    """What every report says about how it was made."""

    application_id: int
    start: date
    end: date
    segment_id: int | None
    segment_method: str | None
    generated_at: datetime
    variant_id: int | None = None
    variant: str | None = None  # the variant filter's label

    @classmethod
    def of(cls, filters: ReportFilters, segment_method: str | None) -> ReportMeta:
        variant = filters.variant
        return cls(filters.application_id, filters.start, filters.end, filters.segment_id, segment_method,
                   filters.now, variant.variant_id if variant else None, variant.label if variant else None)


class Report:
    """Mixin for report dataclasses: ``to_dict()`` for JSON, ``rows()`` for the CSV main table."""

    def to_dict(self) -> dict:
        return jsonable(self)

    def rows(self) -> list[dict]:  # pragma: no cover - every report overrides
        raise NotImplementedError
