"""One treatment against the control on one metric, from database sums, via ``experiments.stats``.

Pure functions: ``ArmSums`` (or per-account sums) in, a frozen ``Comparison`` out. Which test:

- conversion metrics (activation, adoption, retention), user randomisation:
  ``compare_proportions`` — Wald test and interval, Beta-posterior chance to beat control,
  always-valid (sequential) interval and p-value; CUPED (``compare_means_cuped`` on the same
  0/1 values with their pre-exposure value) is attached for reference;
- count metrics, user randomisation: ``compare_means_cuped`` — the CUPED-adjusted Welch test is
  the headline (it equals plain Welch when the pre-exposure value has no variance);
- account randomisation: ``compare_proportions_by_cluster`` / ``compare_means_by_cluster``
  (cluster-robust CR1 standard errors); the sequential interval uses that standard error with
  the number of accounts as the sample size, and chance to beat control is Φ(diff / SE).

The *decision* p-value and interval are the sequential ones when the experiment is sequential,
the fixed-horizon ones otherwise. ``significant`` is set by ``with_adjusted_p`` once the
multiple-comparison adjustment of the decision p-values is known, and only when there is
enough data for the normal approximations behind every test here (``enough_data``).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from experiments.aggregation import ArmSums
from experiments.stats import (
    compare_means_by_cluster,
    compare_means_cuped,
    compare_proportions,
    compare_proportions_by_cluster,
    normal_chance_to_beat,
    sequential_ci_half_width,
    sequential_p_value,
)
from experiments.stats.proportions import SMALL_COUNT

# Below this many units in an arm a mean's sampling distribution is too far from normal
# (counts per user are skewed) for any test here to be read as a decision.
MIN_UNITS_FOR_MEANS = 30

Interval = tuple[float, float]


@dataclass(frozen=True)
class CupedSummary:
    """The CUPED-adjusted comparison (pre-exposure value of the metric as covariate)."""

    theta: float | None
    variance_reduction: float | None
    abs_diff: float | None
    abs_diff_ci: Interval | None
    rel_lift: float | None
    p_value: float | None
    seq_abs_diff_ci: Interval | None
    seq_p_value: float | None


@dataclass(frozen=True)
class Comparison:
    """Treatment minus control on one metric.

    Fields:
        method: the statistics used, spelled out (from ``experiments.stats``).
        abs_diff, abs_diff_ci: treatment - control (rate or mean units) and its fixed-horizon CI.
        rel_lift, rel_lift_ci: abs_diff / control value, and its delta-method CI.
        p_value: fixed-horizon two-sided p-value.
        seq_abs_diff_ci, seq_rel_lift_ci, seq_p_value: always-valid versions (any number of looks).
        decision_p_value, decision_ci: what the verdict reads — sequential or fixed-horizon.
        adjusted_p_value: decision_p_value after the multiple-comparison adjustment of its family.
        adjustment: "holm", "bh" or "none".
        chance_to_beat_control: posterior probability that the treatment is *better* than the
            control in the metric's direction (higher for "increase", lower for "decrease").
        enough_data: the counts are large enough for the normal approximations.
        significant: adjusted_p_value < alpha and enough_data.
        better: True / False when significant and the change is good / bad; None otherwise.
        cuped: the CUPED comparison when computed.
        clustered: standard errors are cluster-robust by account.
        warnings: from the statistics functions, in plain words.
    """

    method: str
    abs_diff: float | None
    abs_diff_ci: Interval | None
    rel_lift: float | None
    rel_lift_ci: Interval | None
    p_value: float | None
    seq_abs_diff_ci: Interval | None
    seq_rel_lift_ci: Interval | None
    seq_p_value: float | None
    decision_p_value: float | None
    decision_ci: Interval | None
    adjusted_p_value: float | None
    adjustment: str
    chance_to_beat_control: float | None
    enough_data: bool
    significant: bool
    better: bool | None
    cuped: CupedSummary | None
    clustered: bool
    warnings: tuple[str, ...]


def compare_arms(
    *,
    binary: bool,
    control: ArmSums,
    treatment: ArmSums,
    alpha: float,
    sequential: bool,
    tuning: float,
    increase_is_better: bool = True,
    cuped: bool = True,
) -> Comparison:
    """Compare two arms of a user-randomised experiment from their sums.

    ``cuped=False`` skips the CUPED comparison attached to conversion metrics (simulations).
    """
    summary = None
    if cuped or not binary:
        adjusted = compare_means_cuped(control.cuped_arm(), treatment.cuped_arm(), alpha, sequential_tuning=tuning)
        summary = CupedSummary(
            theta=adjusted.theta, variance_reduction=adjusted.variance_reduction, abs_diff=adjusted.abs_diff,
            abs_diff_ci=adjusted.abs_diff_ci, rel_lift=adjusted.rel_lift, p_value=adjusted.p_value,
            seq_abs_diff_ci=adjusted.seq_abs_diff_ci, seq_p_value=adjusted.seq_p_value,
        )
    if binary:
        result = compare_proportions(
            control.n, round(control.sum_y), treatment.n, round(treatment.sum_y), alpha,
            sequential_tuning=tuning, fisher=False,
        )
        counts = (result.control_conversions, control.n - result.control_conversions,
                  result.treatment_conversions, treatment.n - result.treatment_conversions)
        enough = min(counts) >= SMALL_COUNT
        chance = result.chance_to_beat_control
        fields = result
    else:
        fields = adjusted
        enough = min(control.n, treatment.n) >= MIN_UNITS_FOR_MEANS
        chance = adjusted.chance_to_beat_control
    return _comparison(
        fields, chance=chance, enough=enough, sequential=sequential, increase_is_better=increase_is_better,
        cuped=summary, clustered=False,
    )


def compare_cluster_arms(
    *,
    binary: bool,
    control: Sequence[tuple[int, float]],
    treatment: Sequence[tuple[int, float]],
    alpha: float,
    sequential: bool,
    tuning: float,
    increase_is_better: bool = True,
) -> Comparison:
    """Compare two arms of an account-randomised experiment from (users, Σy) per account."""
    if binary:
        result = compare_proportions_by_cluster(
            [(n, round(s)) for n, s in control], [(n, round(s)) for n, s in treatment], alpha
        )
    else:
        result = compare_means_by_cluster(control, treatment, alpha)
    clusters = result.control_clusters + result.treatment_clusters
    seq_ci = seq_p = seq_rel_ci = None
    if result.abs_diff_se:
        half = sequential_ci_half_width(result.abs_diff_se, clusters, alpha, tuning)
        seq_ci = (result.abs_diff - half, result.abs_diff + half)
        seq_p = sequential_p_value(result.abs_diff, result.abs_diff_se, clusters, alpha, tuning)
        if result.rel_lift is not None and result.rel_lift_ci is not None:
            # Widen the relative interval by the same factor as the absolute one.
            scale = half / (result.abs_diff_ci[1] - result.abs_diff)
            rel_half = (result.rel_lift_ci[1] - result.rel_lift) * scale
            seq_rel_ci = (result.rel_lift - rel_half, result.rel_lift + rel_half)
    enough = min(result.control_clusters, result.treatment_clusters) >= 2 and (
        min(result.control_units, result.treatment_units) >= MIN_UNITS_FOR_MEANS
    )
    fields = {
        "method": result.method, "abs_diff": result.abs_diff, "abs_diff_ci": result.abs_diff_ci,
        "rel_lift": result.rel_lift, "rel_lift_ci": result.rel_lift_ci, "p_value": result.p_value,
        "seq_abs_diff_ci": seq_ci, "seq_rel_lift_ci": seq_rel_ci, "seq_p_value": seq_p,
        "warnings": result.warnings,
    }
    chance = normal_chance_to_beat(result.abs_diff, result.abs_diff_se) if result.abs_diff is not None else None
    return _comparison(
        fields, chance=chance, enough=enough, sequential=sequential, increase_is_better=increase_is_better,
        cuped=None, clustered=True,
    )


def _comparison(fields, *, chance, enough, sequential, increase_is_better, cuped, clustered) -> Comparison:
    get = fields.get if isinstance(fields, dict) else lambda name: getattr(fields, name)
    decision_p = get("seq_p_value") if sequential else get("p_value")
    decision_ci = get("seq_abs_diff_ci") if sequential else get("abs_diff_ci")
    if chance is not None and not increase_is_better:
        chance = 1.0 - chance
    return Comparison(
        method=get("method"),
        abs_diff=get("abs_diff"),
        abs_diff_ci=get("abs_diff_ci"),
        rel_lift=get("rel_lift"),
        rel_lift_ci=get("rel_lift_ci"),
        p_value=get("p_value"),
        seq_abs_diff_ci=get("seq_abs_diff_ci"),
        seq_rel_lift_ci=get("seq_rel_lift_ci"),
        seq_p_value=get("seq_p_value"),
        decision_p_value=decision_p,
        decision_ci=decision_ci,
        adjusted_p_value=decision_p,
        adjustment="none",
        chance_to_beat_control=chance,
        enough_data=enough,
        significant=False,
        better=None,
        cuped=cuped,
        clustered=clustered,
        warnings=tuple(get("warnings")),
    )


def with_adjusted_p(
    comparison: Comparison, *, adjusted_p: float | None, adjustment: str, alpha: float, increase_is_better: bool
) -> Comparison:
    """The comparison with its family's adjusted p-value, and the significance that follows."""
    significant = comparison.enough_data and adjusted_p is not None and adjusted_p < alpha
    better = None
    if significant and comparison.abs_diff is not None and comparison.abs_diff != 0:
        better = (comparison.abs_diff > 0) == increase_is_better
    return dataclasses.replace(
        comparison, adjusted_p_value=adjusted_p, adjustment=adjustment, significant=significant, better=better
    )
