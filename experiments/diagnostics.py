"""Beyond the main comparison: who never saw their variant's guide, and time to activation."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db.models import QuerySet

from experiments.aggregation import compliance_counts, metric_spec, survival_counts
from experiments.models import Experiment, Metric, Variant
from experiments.stats import kaplan_meier, logrank_test


@dataclass(frozen=True)
class ComplianceRow:
    """A variant with a guide: how many exposed users never had it shown after exposure.

    ``not_shown`` covers suppression (frequency, throttle, a modal slot taken, the page left)
    and render failures; ``render_failed`` counts those whose guide reported a render failure.
    Shares are of ``users``; the analysis stays intention-to-treat whatever they are.
    """

    variant_id: int
    key: str
    name: str
    guide_id: int
    users: int
    not_shown: int
    not_shown_share: float | None
    render_failed: int
    render_failed_share: float | None


@dataclass(frozen=True)
class Curve:
    """Kaplan–Meier share of a variant's users not yet activated, by whole days after exposure."""

    variant_id: int
    key: str
    name: str
    n: int
    n_events: int
    times: tuple[float, ...]
    survival: tuple[float, ...]
    ci_lower: tuple[float | None, ...]
    ci_upper: tuple[float | None, ...]
    median_days: float | None
    median_ci: tuple[float | None, float | None]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class TimeToActivation:
    metric_id: int
    metric_name: str
    window_days: int
    curves: tuple[Curve, ...]
    logrank_chi2: float | None
    logrank_p_value: float | None
    warnings: tuple[str, ...]


def compliance_rows(
    experiment: Experiment, variants: Sequence[Variant], exposures: QuerySet, now: datetime
) -> tuple[ComplianceRow, ...]:
    if experiment.kind != Experiment.Kind.AB:
        return ()
    guides = {variant.id: variant.guide_id for variant in variants if variant.guide_id}
    counts = compliance_counts(exposures, guides, now=now)
    rows = []
    for variant in variants:
        if variant.id not in counts:
            continue
        c = counts[variant.id]
        rows.append(
            ComplianceRow(
                variant_id=variant.id, key=variant.key, name=variant.name, guide_id=variant.guide_id,
                users=c.users, not_shown=c.not_shown, not_shown_share=c.not_shown / c.users if c.users else None,
                render_failed=c.render_failed, render_failed_share=c.render_failed / c.users if c.users else None,
            )
        )
    return tuple(rows)


def activation_metric(metrics: Sequence[Metric]) -> Metric | None:
    """The metric whose timing is shown: the first activation metric, else the first adoption one."""
    for kind in (Metric.Kind.ACTIVATION, Metric.Kind.ADOPTION):
        for metric in metrics:  # already primary first
            if metric.kind == kind:
                return metric
    return None


def time_to_activation(
    experiment: Experiment, variants: Sequence[Variant], metrics: Sequence[Metric], exposures: QuerySet, now: datetime
) -> TimeToActivation | None:
    metric = activation_metric(metrics)
    if metric is None:
        return None
    spec = metric_spec(metric, default_window_days=experiment.conversion_window_days)
    counts = survival_counts(exposures, spec, now=now)
    curves, durations_by_group, events_by_group = [], [], []
    for variant in variants:
        if variant.id not in counts:
            continue
        durations, events = counts[variant.id].durations_and_events()
        durations_by_group.append(durations)
        events_by_group.append(events)
        km = kaplan_meier(durations, events, experiment.alpha)
        curves.append(
            Curve(
                variant_id=variant.id, key=variant.key, name=variant.name, n=km.n, n_events=km.n_events,
                times=km.times, survival=km.survival,
                ci_lower=tuple(low for low, _ in km.ci), ci_upper=tuple(high for _, high in km.ci),
                median_days=km.median, median_ci=km.median_ci, warnings=km.warnings,
            )
        )
    test = logrank_test(durations_by_group, events_by_group)
    return TimeToActivation(
        metric_id=metric.id, metric_name=metric.name, window_days=spec.window_days, curves=tuple(curves),
        logrank_chi2=test.chi2, logrank_p_value=test.p_value, warnings=test.warnings,
    )
