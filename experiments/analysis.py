"""An experiment's results: SQL aggregates (``aggregation``) turned into statistics (``stats``).

``experiment_results_get(experiment, now=None)`` is the one entry point; its ``to_dict()`` is
what result snapshots store and the result page renders. Choices, in one place:

- every exposed user counts in the arm they were assigned to (intention-to-treat), including
  users whose window is still open (``open_windows`` per row says how many);
- multiple comparisons: Holm over treatments × primary metrics (family-wise error), Benjamini–
  Hochberg over treatments × secondary metrics, none for guardrails (a guardrail should alarm
  early); what is adjusted is the decision p-value (sequential when the experiment is);
- the planned sample is for the first primary metric, at alpha split over the primary
  comparisons (as Holm's first step needs); count metrics assume Poisson spread (σ² = mean);
- the sequential tuning N* is the planned total sample, so the always-valid interval is
  tightest where the experiment is meant to end;
- non-compliance (a variant's guide never shown) is reported, never used to drop users.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Count
from django.utils import timezone

from experiments.aggregation import ArmSums, cluster_sums, metric_spec, variant_sums
from experiments.comparisons import Comparison, compare_arms, compare_cluster_arms, with_adjusted_p
from experiments.diagnostics import ComplianceRow, TimeToActivation, compliance_rows, time_to_activation
from experiments.models import Experiment, Exposure, Metric, Variant
from experiments.planning import PlanProgress, plan_progress
from experiments.stats import DEFAULT_TUNING, adjust_p_values, srm_check
from experiments.verdict import Notice, comparison_sentence, format_diff, format_interval, verdict_text

ROLE_ORDER = {Metric.Role.PRIMARY: 0, Metric.Role.SECONDARY: 1, Metric.Role.GUARDRAIL: 2}
ADJUSTMENT = {Metric.Role.PRIMARY: "holm", Metric.Role.SECONDARY: "bh", Metric.Role.GUARDRAIL: "none"}
NONCOMPLIANCE_NOTICE_SHARE = 0.1


@dataclass(frozen=True)
class VariantRow:
    """One variant's line in a metric's table; ``comparison`` is None for the control."""

    variant_id: int
    key: str
    name: str
    is_control: bool
    users: int
    conversions: int | None  # conversion metrics only
    total: float  # Σ metric values (conversions, or events for a count)
    value: float | None  # rate (conversions / users) or mean per user
    open_windows: int
    comparison: Comparison | None


@dataclass(frozen=True)
class MetricResult:
    metric_id: int
    name: str
    kind: str
    role: str
    direction: str
    window_days: int
    week_number: int | None
    unit: str  # "rate" or "mean"
    rows: tuple[VariantRow, ...]


@dataclass(frozen=True)
class SrmResult:
    unit: str  # "users" or "accounts": what was randomised
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    p_value: float | None
    flagged: bool


@dataclass(frozen=True)
class ExperimentResults:
    experiment: dict
    computed_at: str
    verdict: str
    variants: tuple[dict, ...]
    metrics: tuple[MetricResult, ...]
    srm: SrmResult | None
    plan: PlanProgress
    warnings: tuple[Notice, ...]
    noncompliance: tuple[ComplianceRow, ...]
    time_to_activation: TimeToActivation | None
    # The aggregates the statistics were computed from (stored in snapshots, not in to_dict).
    inputs: dict = field(default_factory=dict, compare=False, repr=False)

    def to_dict(self) -> dict:
        data = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "inputs"}
        return _plain(data)


def _plain(value):
    """JSON-ready copy: dataclasses to dicts, tuples to lists."""
    if dataclasses.is_dataclass(value):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value) if f.name != "inputs"}
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def experiment_results_get(experiment: Experiment, now: datetime | None = None) -> ExperimentResults:
    """Everything the result page shows, computed now from the database."""
    now = now or timezone.now()
    variants = list(experiment.variants.order_by("-is_control", "id"))
    metrics = sorted(experiment.metrics.select_related("stage"), key=lambda m: (ROLE_ORDER[m.role], m.id))
    exposures = Exposure.objects.filter(experiment=experiment)
    counts = {
        row["variant_id"]: (row["users"], row["units"])
        for row in exposures.filter(exposed_at__lt=now).order_by().values("variant_id")
        .annotate(users=Count("pk"), units=Count("unit_id", distinct=True))
    }
    clustered = experiment.randomization_unit == Experiment.Unit.ACCOUNT
    started = experiment.status != Experiment.Status.DRAFT
    users = [counts.get(v.id, (0, 0))[0] for v in variants]
    plan = plan_progress(experiment, variants, metrics, users_per_variant=users if started else [])
    tuning = float(plan.planned_total_users or DEFAULT_TUNING)
    inputs: dict = {"now": now.isoformat(), "exposed": {str(v.id): counts.get(v.id, (0, 0)) for v in variants}}

    results = []
    if started and variants:
        for metric in metrics:
            results.append(_metric_result(experiment, metric, variants, exposures, now, tuning, clustered, inputs))
        results = _adjust(results, metrics, experiment.alpha)

    srm = _srm(variants, counts, clustered) if started and sum(users) else None
    noncompliance = compliance_rows(experiment, variants, exposures, now) if started else ()
    survival = time_to_activation(experiment, variants, metrics, exposures, now) if started and sum(users) else None
    notices = _notices(experiment, plan, srm, results, metrics, noncompliance, clustered)
    verdict = _verdict(experiment, variants, metrics, results, srm, plan, sum(users))
    return ExperimentResults(
        experiment=_experiment_info(experiment),
        computed_at=now.isoformat(),
        verdict=verdict,
        variants=tuple(
            {"id": v.id, "key": v.key, "name": v.name, "is_control": v.is_control, "weight": v.weight,
             "guide_id": v.guide_id, "guide_version_id": v.guide_version_id,
             "users": counts.get(v.id, (0, 0))[0], "units": counts.get(v.id, (0, 0))[1]}
            for v in variants
        ),
        metrics=tuple(results),
        srm=srm,
        plan=plan,
        warnings=tuple(notices),
        noncompliance=tuple(noncompliance),
        time_to_activation=survival,
        inputs=inputs,
    )


def _metric_result(experiment, metric, variants, exposures, now, tuning, clustered, inputs) -> MetricResult:
    spec = metric_spec(metric, default_window_days=experiment.conversion_window_days)
    sums = {variant_id: arm for (_exp, variant_id), arm in variant_sums(exposures, spec, now=now).items()}
    clusters = cluster_sums(exposures, spec, now=now) if clustered else {}
    clusters = {variant_id: rows for (_exp, variant_id), rows in clusters.items()}
    inputs.setdefault("metrics", {})[str(metric.id)] = {
        "spec": dataclasses.asdict(spec),
        "sums": {str(v.id): dataclasses.asdict(sums.get(v.id, ArmSums.empty())) for v in variants},
        **({"clusters": {str(v.id): clusters.get(v.id, []) for v in variants}} if clustered else {}),
    }
    control = variants[0]
    increase = metric.direction == Metric.Direction.INCREASE
    rows = []
    for variant in variants:
        arm = sums.get(variant.id, ArmSums.empty())
        comparison = None
        if not variant.is_control:
            if clustered:
                comparison = compare_cluster_arms(
                    binary=spec.binary, control=clusters.get(control.id, []), treatment=clusters.get(variant.id, []),
                    alpha=experiment.alpha, sequential=experiment.sequential, tuning=tuning,
                    increase_is_better=increase,
                )
            else:
                comparison = compare_arms(
                    binary=spec.binary, control=sums.get(control.id, ArmSums.empty()), treatment=arm,
                    alpha=experiment.alpha, sequential=experiment.sequential, tuning=tuning,
                    increase_is_better=increase,
                )
        rows.append(
            VariantRow(
                variant_id=variant.id, key=variant.key, name=variant.name, is_control=variant.is_control,
                users=arm.n, conversions=round(arm.sum_y) if spec.binary else None, total=arm.sum_y,
                value=arm.sum_y / arm.n if arm.n else None, open_windows=arm.open_windows, comparison=comparison,
            )
        )
    return MetricResult(
        metric_id=metric.id, name=metric.name, kind=metric.kind, role=metric.role, direction=metric.direction,
        window_days=spec.window_days, week_number=spec.week_number, unit="rate" if spec.binary else "mean",
        rows=tuple(rows),
    )


def _adjust(results: list[MetricResult], metrics: list[Metric], alpha: float) -> list[MetricResult]:
    """Adjust decision p-values within each role's family (treatments × metrics of that role)."""
    by_id = {metric.id: metric for metric in metrics}
    adjusted = list(results)
    for role, method in ADJUSTMENT.items():
        slots = [
            (i, j) for i, result in enumerate(results) if result.role == role
            for j, row in enumerate(result.rows) if row.comparison is not None
        ]
        raw = [results[i].rows[j].comparison.decision_p_value for i, j in slots]
        values = adjust_p_values(raw, method) if method != "none" else raw
        for (i, j), p in zip(slots, values, strict=True):
            increase = by_id[adjusted[i].metric_id].direction == Metric.Direction.INCREASE
            rows = list(adjusted[i].rows)
            rows[j] = dataclasses.replace(
                rows[j],
                comparison=with_adjusted_p(
                    rows[j].comparison, adjusted_p=p, adjustment=method, alpha=alpha, increase_is_better=increase
                ),
            )
            adjusted[i] = dataclasses.replace(adjusted[i], rows=tuple(rows))
    return adjusted


def _srm(variants: list[Variant], counts: dict, clustered: bool) -> SrmResult:
    index = 1 if clustered else 0
    check = srm_check([counts.get(v.id, (0, 0))[index] for v in variants], [v.weight for v in variants])
    return SrmResult(
        unit="accounts" if clustered else "users", observed=check.observed, expected=check.expected,
        p_value=check.p_value, flagged=check.flagged,
    )


def _verdict(experiment, variants, metrics, results, srm, plan, exposed) -> str:
    final = experiment.status != Experiment.Status.RUNNING or (plan.progress or 0) >= 1
    sentences, guardrails = [], []
    for result in results:
        binary = result.unit == "rate"
        for row in result.rows:
            comparison = row.comparison
            if comparison is None:
                continue
            if result.role == Metric.Role.PRIMARY and (result is results[0] or comparison.significant):
                sentences.append(
                    comparison_sentence(
                        variant=row.name, metric=result.name, comparison=comparison, binary=binary,
                        alpha=experiment.alpha, final=final,
                    )
                )
            if result.role == Metric.Role.GUARDRAIL and comparison.better is False:
                guardrails.append(_guardrail_sentence(row, result, comparison, experiment.alpha))
    progress = None
    if experiment.status == Experiment.Status.RUNNING and plan.planned_users_per_variant and (plan.progress or 0) < 1:
        progress = (
            f"{plan.users_per_variant_min:,} of {plan.planned_users_per_variant:,} planned users per variant "
            f"so far ({(plan.progress or 0) * 100:.0f} %)."
        )
    return verdict_text(
        status=experiment.status, exposed=exposed, srm_flagged=bool(srm and srm.flagged),
        srm_p=srm.p_value if srm else None, sentences=sentences, guardrail_sentences=guardrails,
        progress_sentence=progress,
    )


def _guardrail_sentence(row: VariantRow, result: MetricResult, comparison: Comparison, alpha: float) -> str:
    binary = result.unit == "rate"
    interval = comparison.decision_ci
    ci = f" ({(1 - alpha) * 100:g} % CI {format_interval(interval, binary=binary)})" if interval else ""
    return (
        f"Guardrail {result.name} got worse in {row.name}: "
        f"{format_diff(comparison.abs_diff, binary=binary, signed=True)}{ci}."
    )


def _notices(experiment, plan, srm, results, metrics, noncompliance, clustered) -> list[Notice]:
    notices: list[Notice] = []
    running = experiment.status == Experiment.Status.RUNNING
    if experiment.status == Experiment.Status.DRAFT:
        notices.append(Notice("not_started", "The experiment has not started: nothing is measured yet."))
    if srm is not None and srm.flagged:
        notices.append(
            Notice("srm", f"Sample ratio mismatch: {srm.unit} per variant {list(srm.observed)} against an expected "
                   f"{[round(e, 1) for e in srm.expected]} (p = {srm.p_value:.2g}). Results are not trustworthy.")
        )
    if running and plan.planned_users_per_variant and (plan.progress or 0) < 1:
        notices.append(
            Notice("below_planned_sample", f"Below the planned sample: {plan.users_per_variant_min:,} of "
                   f"{plan.planned_users_per_variant:,} users per variant.")
        )
        if not experiment.sequential:
            notices.append(
                Notice("peeking_without_sequential", "Sequential testing is off and the planned sample is not "
                       "reached: the p-values and intervals are only valid when read once, at the planned sample. "
                       "Looking earlier and stopping on a good result inflates false positives.")
            )
    for result in results:
        control = result.rows[0] if result.rows else None
        if control is not None and control.users and control.value == 0:
            notices.append(
                Notice("control_rate_zero",
                       f"{result.name}: the control's value is 0, so relative lifts are undefined.")
            )
        for row in result.rows:
            if result.role == Metric.Role.GUARDRAIL and row.comparison is not None and row.comparison.better is False:
                sentence = _guardrail_sentence(row, result, row.comparison, experiment.alpha)
                notices.append(Notice("guardrail_degraded", sentence))
        if any(row.open_windows for row in result.rows):
            open_users = sum(row.open_windows for row in result.rows)
            notices.append(
                Notice("open_windows", f"{result.name}: {open_users:,} users are still inside their "
                       f"{result.window_days}-day window; they count with what they did so far.")
            )
    if clustered:
        notices.append(
            Notice("cluster_robust", "Users were randomised by account: intervals and p-values use cluster-robust "
                   "standard errors over accounts, and the sample ratio check counts accounts. The time-to-activation "
                   "curves treat users as independent.")
        )
    for row in noncompliance:
        if row.users and row.not_shown / row.users > NONCOMPLIANCE_NOTICE_SHARE:
            notices.append(
                Notice("noncompliance", f"{row.not_shown / row.users * 100:.0f} % of {row.name}'s users never had its "
                       "guide shown. Results stay intention-to-treat: they measure offering the guide, not seeing it.")
            )
    return notices


def _experiment_info(experiment: Experiment) -> dict:
    def iso(value):
        return value.isoformat() if value else None

    return {
        "id": experiment.id, "name": experiment.name, "hypothesis": experiment.hypothesis,
        "status": experiment.status, "kind": experiment.kind, "randomization_unit": experiment.randomization_unit,
        "traffic_share": experiment.traffic_share, "alpha": experiment.alpha, "power": experiment.power,
        "sequential": experiment.sequential, "conversion_window_days": experiment.conversion_window_days,
        "started_at": iso(experiment.started_at), "stopped_at": iso(experiment.stopped_at),
        "decided_at": iso(experiment.decided_at), "decision": experiment.decision or None,
        "decision_note": experiment.decision_note, "winning_variant_id": experiment.winning_variant_id,
        "decided_by": experiment.decided_by.get_username() if experiment.decided_by_id else None,
    }
