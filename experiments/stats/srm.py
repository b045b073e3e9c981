"""Sample ratio mismatch: do the units per variant match the configured weights?

A mismatch means assignment or exposure logging is broken (bots, redirects, a variant that
crashes before logging), and the experiment's comparisons cannot be trusted whatever they say.
Test: Pearson chi-square goodness of fit (``scipy.stats.chisquare``) of the observed counts
against total × weight / Σ weights, flagged at p < 0.001 because it is checked continuously.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import stats

from experiments.stats._checks import check_count
from experiments.stats.results import SrmCheck

METHOD = "chi-square goodness of fit (scipy.stats.chisquare)"
DEFAULT_THRESHOLD = 0.001


def srm_p_value(observed_counts: Sequence[int], expected_weights: Sequence[float]) -> float | None:
    """Chi-square goodness-of-fit p-value; None when meaningless (no units, < 2 variants)."""
    return srm_check(observed_counts, expected_weights).p_value


def srm_check(
    observed_counts: Sequence[int],
    expected_weights: Sequence[float],
    threshold: float = DEFAULT_THRESHOLD,
) -> SrmCheck:
    """Check the observed split; see ``SrmCheck`` for every field.

    A variant with weight 0 is expected to receive nobody: any unit in it is a certain mismatch
    (p_value 0.0); when it is empty it is left out of the test.
    """
    for count in observed_counts:
        check_count("observed count", count)
    observed = tuple(int(c) for c in observed_counts)
    weights = tuple(float(w) for w in expected_weights)
    if len(observed) != len(weights):
        raise ValueError(f"{len(observed)} observed counts but {len(weights)} weights")
    if any(not (math.isfinite(w) and w >= 0) for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {weights!r}")
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must be in (0, 1), got {threshold!r}")

    total = sum(observed)
    weight_sum = sum(weights)
    expected = tuple(total * w / weight_sum for w in weights)
    positive = [i for i, w in enumerate(weights) if w > 0]
    warnings: list[str] = []
    statistic = p_value = df = None

    if total == 0:
        warnings.append("No units observed yet: the split cannot be checked.")
    elif any(observed[i] > 0 for i, w in enumerate(weights) if w == 0):
        warnings.append("Units were assigned to a variant with weight 0.")
        p_value = 0.0
    elif len(positive) < 2:
        warnings.append("Fewer than two variants have positive weight: there is no split to check.")
    else:
        result = stats.chisquare([observed[i] for i in positive], f_exp=[expected[i] for i in positive])
        statistic, p_value, df = float(result.statistic), float(result.pvalue), len(positive) - 1

    return SrmCheck(
        method=METHOD,
        observed=observed,
        expected=expected,
        statistic=statistic,
        df=df,
        p_value=p_value,
        threshold=float(threshold),
        flagged=p_value is not None and p_value < threshold,
        warnings=tuple(warnings),
    )
