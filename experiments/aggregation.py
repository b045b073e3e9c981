"""Per-variant sums of experiment metrics, computed by the database.

Every metric is measured per exposed user *from their own exposure*: an event counts when
``exposed_at <= Event.timestamp < exposed_at + W days`` (and before ``now``). The database
computes one value per user in a derived table — ``y`` after exposure and ``x``, the same
metric over the same length of time just *before* exposure (the CUPED covariate) — and returns
only sums: one row per variant (``n, Σy, Σy², Σx, Σx², Σxy``), or per account for account
randomisation. No per-user row reaches Python.

Metric definitions (W = the metric's window in days):

- adoption, activation by event: y = 1 if the user did the event in ``[exposed_at, +W)``;
  x = 1 if they did it in ``[exposed_at - W, exposed_at)``.
- activation by stage S: y = 1 if the user had reached S or a later stage (a ``StageTransition``
  into it) before ``exposed_at + W`` — users already past S at exposure count as activated in
  every arm alike, which dilutes but does not bias the difference; x = 1 if they had reached it
  before exposure.
- count: y = number of times the user did the event in ``[exposed_at, +W)``; x the same before.
- retention in week N: y = 1 if the user was active in ``[exposed_at + 7N days, +7 days)``;
  x = 1 if active in the week before exposure. Active = did the metric's event, or without one
  any product event or ``$pageview`` (Wayline's own ``$guide_*`` events are not activity).

Users whose window has not ended at ``now`` are included with what they did so far
(intention-to-treat: every exposed user counts, so the arms stay comparable); ``open_windows``
says how many of them there are, so readers know the numbers can still grow.

The per-user derived table is an ORM queryset (so date arithmetic, JSON and quoting stay
portable between SQLite and PostgreSQL); the grouping around it is plain SQL.
"""
from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Least

from analytics.models import Event, GuideState, StageTransition
from experiments.models import Metric
from onboarding.models import JourneyStage

DAY = timedelta(days=1)
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class MetricSpec:
    """What to measure for each exposed user; a Metric row or a plain definition (simulations)."""

    kind: str
    window_days: int
    event_name: str = ""
    stage_ids: tuple[int, ...] = ()  # activation by stage: the stage and every later one
    week_number: int | None = None

    @property
    def binary(self) -> bool:
        return self.kind != Metric.Kind.COUNT

    @property
    def window(self) -> tuple[timedelta, timedelta]:
        """(start, end) of the measured period, as offsets from exposure."""
        if self.kind == Metric.Kind.RETENTION:
            week = self.week_number or 1
            return week * WEEK, (week + 1) * WEEK
        return timedelta(0), self.window_days * DAY

    @property
    def pre_window(self) -> tuple[timedelta, timedelta]:
        """The same length of time just before exposure, for the CUPED covariate."""
        start, end = self.window
        return -(end - start), timedelta(0)


@dataclass(frozen=True)
class ArmSums:
    """Sums over one variant's exposed users: y the metric, x its pre-exposure value."""

    n: int
    sum_y: float
    sum_y2: float
    sum_x: float
    sum_x2: float
    sum_xy: float
    open_windows: int  # users whose window had not ended at ``now``

    @classmethod
    def empty(cls) -> ArmSums:
        return cls(0, 0.0, 0.0, 0.0, 0.0, 0.0, 0)

    def cuped_arm(self) -> dict[str, float]:
        """The sums ``experiments.stats.compare_means_cuped`` reads."""
        return {
            "n": self.n, "sum_y": self.sum_y, "sum_y2": self.sum_y2,
            "sum_x": self.sum_x, "sum_x2": self.sum_x2, "sum_xy": self.sum_xy,
        }


@dataclass(frozen=True)
class SurvivalCounts:
    """Days from exposure to activation for one variant, as counts per (day, activated?).

    ``rows`` holds (day, event, users): ``event`` 1 = activated on that day after exposure
    (0 = at or before exposure), 0 = not activated and observed for that many whole days
    (censored at ``min(now, exposed_at + W)``).
    """

    rows: tuple[tuple[int, int, int], ...]

    def durations_and_events(self) -> tuple[list[int], list[int]]:
        """Expanded to one duration and flag per user, for ``experiments.stats.kaplan_meier``."""
        durations: list[int] = []
        events: list[int] = []
        for day, event, users in self.rows:
            durations.extend([day] * users)
            events.extend([event] * users)
        return durations, events


def metric_spec(metric: Metric, *, default_window_days: int) -> MetricSpec:
    """The spec of a Metric row; activation by stage S also counts reaching any later stage."""
    stage_ids: tuple[int, ...] = ()
    if metric.kind == Metric.Kind.ACTIVATION and metric.stage_id:
        stage = metric.stage
        stage_ids = tuple(
            JourneyStage.objects.filter(application_id=stage.application_id, order__gte=stage.order)
            .order_by("order")
            .values_list("id", flat=True)
        )
    return MetricSpec(
        kind=metric.kind,
        window_days=metric.window_days or default_window_days,
        event_name=metric.event_name,
        stage_ids=stage_ids,
        week_number=metric.week_number,
    )


def activity_filter(spec: MetricSpec) -> Q:
    if spec.event_name:
        return Q(name=spec.event_name)
    # Product events and page views are activity; Wayline's own guide events are not.
    return ~Q(name__startswith="$") | Q(name="$pageview")


class ShiftDays(Func):
    """A timestamp moved by a whole number of days (windows are whole days, in UTC).

    Django's own date arithmetic on SQLite calls a Python function for every row it compares,
    which made aggregation a hundred times slower; whole days need only ``date()`` on the date
    part, with the time of day, fractions of a second included, kept as it is stored.
    """

    output_field = DateTimeField()

    def __init__(self, expression, days: int):
        super().__init__(expression)
        self.days = int(days)

    def as_sqlite(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"(date(substr({sql}, 1, 10), '{self.days:+d} days') || substr({sql}, 11))", [*params, *params]

    def as_postgresql(self, compiler, connection, **extra):
        sql, params = compiler.compile(self.source_expressions[0])
        return f"({sql} + make_interval(days => {self.days:d}))", params

    def as_sql(self, compiler, connection, **extra):
        raise NotImplementedError(f"experiment windows are not implemented for {connection.vendor}")


def _days(offset: timedelta) -> int:
    if offset % DAY:
        raise ValueError(f"windows are whole days, not {offset}")
    return offset // DAY


def _shifted(reference, offset: timedelta):
    return ShiftDays(reference, _days(offset)) if offset else reference


def _offset(offset: timedelta):
    return _shifted(OuterRef("exposed_at"), offset)


def _before(limit, now: datetime):
    # One upper bound, not two: the database then uses it for the index range on
    # (user, timestamp) instead of filtering row by row.
    return Least(limit, Value(now, output_field=DateTimeField()), output_field=DateTimeField())


def _user_events(spec: MetricSpec, start: timedelta, end: timedelta, now: datetime) -> QuerySet:
    return Event.objects.filter(
        activity_filter(spec),
        user_id=OuterRef("user_id"),
        timestamp__gte=_offset(start),
        timestamp__lt=_before(_offset(end), now),
    )


def _flag(exists: Exists) -> Case:
    return Case(When(exists, then=Value(1)), default=Value(0), output_field=IntegerField())


def _count(events: QuerySet):
    # COUNT as a plain function, not an aggregate, so the subquery has no GROUP BY and always
    # returns one row (0 when the user did nothing).
    counted = events.order_by().annotate(times=Func(F("pk"), function="COUNT", output_field=IntegerField()))
    return Coalesce(Subquery(counted.values("times")), Value(0), output_field=IntegerField())


def _value(spec: MetricSpec, start: timedelta, end: timedelta, now: datetime, *, before_exposure: bool):
    if spec.kind == Metric.Kind.ACTIVATION and spec.stage_ids:
        transitions = StageTransition.objects.filter(user_id=OuterRef("user_id"), to_stage_id__in=spec.stage_ids)
        limit = _offset(timedelta(0) if before_exposure else end)
        return _flag(Exists(transitions.filter(at__lt=_before(limit, now))))
    events = _user_events(spec, start, end, now)
    if spec.kind == Metric.Kind.COUNT:
        return _count(events)
    return _flag(Exists(events))


def per_user_values(
    exposures: QuerySet, spec: MetricSpec, *, now: datetime, covariate: bool = True, by: str | None = None
) -> QuerySet:
    """The derived table: one row per exposure with ``y``, ``x`` and ``open`` (window not over).

    ``covariate=False`` skips the pre-exposure value (x = 0) when no CUPED is wanted; ``by``
    names one more column of ``exposures`` (a field or an annotation) to carry along.
    """
    start, end = spec.window
    pre_start, pre_end = spec.pre_window
    return (
        exposures.filter(exposed_at__lt=now)
        .order_by()
        .annotate(
            y=_value(spec, start, end, now, before_exposure=False),
            x=_value(spec, pre_start, pre_end, now, before_exposure=True) if covariate else Value(0),
            open=Case(When(exposed_at__gt=now - end, then=Value(1)), default=Value(0), output_field=IntegerField()),
        )
        .values("experiment_id", "variant_id", "unit_id", "y", "x", "open", *([by] if by else []))
    )


def _grouped(queryset: QuerySet, select: str, group_by: str) -> list[tuple]:
    sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    with connections[queryset.db].cursor() as cursor:
        cursor.execute(f"SELECT {group_by}, {select} FROM ({sql}) per_user GROUP BY {group_by}", params)
        return cursor.fetchall()


def variant_sums(
    exposures: QuerySet, spec: MetricSpec, *, now: datetime, covariate: bool = True, by: str | None = None
) -> dict[tuple, ArmSums]:
    """``{(experiment id, variant id): ArmSums}`` for every variant with exposed users; one query.

    ``exposures`` may span many experiments (simulations aggregate a thousand at once). With
    ``by`` (a column of ``exposures``, e.g. an annotated day of exposure) the sums are split
    further and keyed ``(experiment id, variant id, value of by)``.
    """
    rows = _grouped(
        per_user_values(exposures, spec, now=now, covariate=covariate, by=by),
        "COUNT(*), SUM(y), SUM(y * y), SUM(x), SUM(x * x), SUM(x * y), SUM(open)",
        "experiment_id, variant_id" + (f", {connections[exposures.db].ops.quote_name(by)}" if by else ""),
    )
    width = 3 if by else 2
    return {
        tuple(row[:width]): ArmSums(
            int(row[width]), *(float(value or 0) for value in row[width + 1:width + 6]), int(row[-1] or 0)
        )
        for row in rows
    }


def cluster_sums(
    exposures: QuerySet, spec: MetricSpec, *, now: datetime
) -> dict[tuple[int, int], list[tuple[int, float]]]:
    """``{(experiment id, variant id): [(users, Σy) per randomisation unit]}``; one query.

    For account randomisation: one row per account, what ``compare_*_by_cluster`` read.
    """
    rows = _grouped(
        per_user_values(exposures, spec, now=now, covariate=False),
        "COUNT(*), SUM(y)",
        "experiment_id, variant_id, unit_id",
    )
    clusters: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)
    for experiment_id, variant_id, _unit, n, sum_y in sorted(rows, key=lambda row: (row[0], row[1], row[2])):
        clusters[(experiment_id, variant_id)].append((int(n), float(sum_y or 0)))
    return dict(clusters)


def _days_between(later: str, earlier: str, vendor: str) -> str:
    """Whole days from ``earlier`` to ``later`` (two column names), in this database's SQL."""
    if vendor == "sqlite":
        return f"(CAST(ROUND((julianday({later}) - julianday({earlier})) * 86400.0) AS INTEGER) / 86400)"
    if vendor == "postgresql":
        return f"CAST(FLOOR(EXTRACT(EPOCH FROM ({later} - {earlier})) / 86400) AS INTEGER)"
    raise NotImplementedError(f"time to activation is not implemented for {vendor}")


def survival_counts(exposures: QuerySet, spec: MetricSpec, *, now: datetime) -> dict[int, SurvivalCounts]:
    """``{variant id: SurvivalCounts}`` of days to activation for one binary metric; one query.

    A user is observed until ``min(now, exposed_at + W)``: those not activated by then are
    censored there, so users still inside their window count without biasing the curve.
    """
    _start, end = spec.window
    if spec.kind == Metric.Kind.ACTIVATION and spec.stage_ids:
        first = StageTransition.objects.filter(
            user_id=OuterRef("user_id"), to_stage_id__in=spec.stage_ids, at__lt=now
        ).order_by("at").values("at")[:1]
    else:
        first = (
            Event.objects.filter(
                activity_filter(spec), user_id=OuterRef("user_id"), timestamp__gte=OuterRef("exposed_at")
            )
            .filter(timestamp__lt=now)
            .order_by("timestamp")
            .values("timestamp")[:1]
        )
    per_user = (
        exposures.filter(exposed_at__lt=now)
        .order_by()
        .annotate(
            act_at=Subquery(first, output_field=DateTimeField()),
            obs_end=Least(
                Value(now, output_field=DateTimeField()), _shifted(F("exposed_at"), end), output_field=DateTimeField()
            ),
        )
        .values("variant_id", "exposed_at", "act_at", "obs_end")
    )
    vendor = connections[exposures.db].vendor
    activated = "act_at IS NOT NULL AND act_at < obs_end"
    day = (
        f"CASE WHEN {activated} THEN (CASE WHEN act_at <= exposed_at THEN 0 "
        f"ELSE {_days_between('act_at', 'exposed_at', vendor)} END) "
        f"ELSE {_days_between('obs_end', 'exposed_at', vendor)} END"
    )
    sql, params = per_user.query.get_compiler(using=exposures.db).as_sql()
    query = (
        f"SELECT variant_id, day, event, COUNT(*) FROM (SELECT variant_id, {day} AS day, "
        f"CASE WHEN {activated} THEN 1 ELSE 0 END AS event FROM ({sql}) per_user) timed "
        "GROUP BY variant_id, day, event"
    )
    with connections[exposures.db].cursor() as cursor:
        cursor.execute(query, params)
        rows = cursor.fetchall()
    grouped: dict[int, list[tuple[int, int, int]]] = defaultdict(list)
    for variant_id, days, event, users in sorted(rows):
        grouped[variant_id].append((int(days), int(event), int(users)))
    return {variant_id: SurvivalCounts(tuple(rows)) for variant_id, rows in grouped.items()}


@dataclass(frozen=True)
class ComplianceCounts:
    """Of a variant's exposed users: how many never had its guide shown, and why if known."""

    users: int
    not_shown: int  # no ``$guide_shown`` of the variant's guide at or after exposure
    render_failed: int  # the guide failed to render for them (event after exposure, or guide state)


def compliance_counts(
    exposures: QuerySet, guide_by_variant: Mapping[int, int], *, now: datetime
) -> dict[int, ComplianceCounts]:
    """``{variant id: ComplianceCounts}`` for the variants that show a guide; one query each."""
    counts = {}
    for variant_id, guide_id in guide_by_variant.items():
        guide_events = Event.objects.filter(
            user_id=OuterRef("user_id"), properties__guide_id=guide_id, timestamp__gte=OuterRef("exposed_at")
        ).filter(timestamp__lt=now)
        shown = Exists(guide_events.filter(name="$guide_shown"))
        failed = Exists(guide_events.filter(name="$guide_render_failed")) | Exists(
            GuideState.objects.filter(user_id=OuterRef("user_id"), guide_id=guide_id, render_failed_count__gt=0)
        )
        totals = exposures.filter(variant_id=variant_id, exposed_at__lt=now).aggregate(
            users=Count("pk"), not_shown=Count("pk", filter=~shown), render_failed=Count("pk", filter=failed)
        )
        counts[variant_id] = ComplianceCounts(totals["users"], totals["not_shown"], totals["render_failed"])
    return counts
