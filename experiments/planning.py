"""How many users an experiment needs, and how far it has come: ``experiments.stats`` power functions."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from experiments.models import Experiment, Metric
from experiments.stats import (
    minimum_detectable_effect,
    minimum_detectable_effect_means,
    progress_to_planned_sample,
    sample_size_per_variant,
    sample_size_per_variant_means,
)


@dataclass(frozen=True)
class PlanProgress:
    """The planned sample and progress towards it, for the first primary metric.

    Fields:
        metric_name: the primary metric the plan is for (None without one).
        binary: whether it is a rate (else a mean per user).
        baseline, planned_mde, alpha, power: the design values.
        comparisons: treatments × primary metrics; the plan uses alpha / comparisons.
        planned_users_per_variant: users each variant needs; None when it cannot be computed.
        planned_total_users: that × the number of variants.
        users_per_variant_min: exposed users of the smallest variant so far.
        progress: users_per_variant_min / planned_users_per_variant (may exceed 1).
        detectable_now: the smallest absolute effect detectable with the users so far.
        sentence: the plan in words.
    """

    metric_name: str | None
    binary: bool
    baseline: float
    planned_mde: float
    alpha: float
    power: float
    comparisons: int
    planned_users_per_variant: int | None
    planned_total_users: int | None
    users_per_variant_min: int
    progress: float | None
    detectable_now: float | None
    sentence: str


def plan_progress(
    experiment: Experiment, variants: Sequence, metrics: Sequence[Metric], *, users_per_variant: Sequence[int]
) -> PlanProgress:
    """Sample size before start ("needs N users per variant…") and progress while running."""
    primaries = [metric for metric in metrics if metric.role == Metric.Role.PRIMARY]
    primary = primaries[0] if primaries else None
    binary = primary is None or primary.kind != Metric.Kind.COUNT
    treatments = max(1, sum(1 for variant in variants if not variant.is_control))
    comparisons = treatments * max(1, len(primaries))
    alpha = experiment.alpha / comparisons
    baseline, mde, power = experiment.planned_baseline, experiment.planned_mde, experiment.power
    planned = None
    if primary is not None:
        if binary:
            planned = sample_size_per_variant(baseline, mde, alpha, power) if 0 <= baseline <= 1 else None
        else:
            planned = sample_size_per_variant_means(math.sqrt(max(baseline, 0.0)), mde, alpha, power)
    users_min = min(users_per_variant) if users_per_variant else 0
    detectable = None
    if users_min > 0 and primary is not None:
        if binary and 0 <= baseline < 1:
            detectable = minimum_detectable_effect(baseline, users_min, alpha, power)
        elif not binary:
            detectable = minimum_detectable_effect_means(math.sqrt(max(baseline, 0.0)), users_min, alpha, power)
    return PlanProgress(
        metric_name=primary.name if primary else None,
        binary=binary,
        baseline=baseline,
        planned_mde=mde,
        alpha=experiment.alpha,
        power=power,
        comparisons=comparisons,
        planned_users_per_variant=planned,
        planned_total_users=planned * len(variants) if planned and variants else None,
        users_per_variant_min=users_min,
        progress=progress_to_planned_sample(users_min, planned),
        detectable_now=detectable,
        sentence=_sentence(primary, binary, baseline, mde, experiment.alpha, power, comparisons, planned),
    )


def _sentence(primary, binary, baseline, mde, alpha, power, comparisons, planned) -> str:
    if primary is None:
        return "Add a primary metric to plan the sample size."
    if planned is None:
        return (
            f"The sample size cannot be planned for {primary.name}: check the baseline ({baseline:g}) and the "
            f"minimum detectable effect ({mde:g})."
        )
    if binary:
        effect, base = f"{mde * 100:.1f} pp", f"a baseline of {baseline * 100:.1f} %"
    else:
        effect, base = f"{mde:g} per user", f"a baseline mean of {baseline:g} per user (Poisson spread assumed)"
    split = f", alpha split over {comparisons} comparisons" if comparisons > 1 else ""
    return (
        f"Needs {planned:,} users per variant to detect a change of {effect} in {primary.name} from {base} "
        f"at alpha {alpha:g} and power {power * 100:.0f} %{split}."
    )
