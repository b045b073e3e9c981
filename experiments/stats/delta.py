"""Delta-method standard error of a relative lift (ratio of two independent means minus 1).

    Var(μT / μC) ≈ Var(μ̂T) / μC² + μT² · Var(μ̂C) / μC⁴

(first-order Taylor expansion; Deng, Knoblich & Lu, "Applying the Delta Method in Metric
Analytics", KDD 2018). Shared by the proportion, mean, CUPED and clustered comparisons.
"""

from __future__ import annotations

import math

UNDEFINED_INTERVAL = (
    "The relative-lift interval is undefined: its delta-method variance is 0 "
    "(the treatment mean is 0 and without variance)."
)


def relative_lift_se(
    control_mean: float, control_mean_var: float, treatment_mean: float, treatment_mean_var: float
) -> float | None:
    """Standard error of treatment_mean / control_mean - 1, from the means and the variances
    *of the means* (e.g. s²/n). None when the control mean is 0 or the variance is 0."""
    if control_mean == 0:
        return None
    variance = treatment_mean_var / control_mean**2 + treatment_mean**2 * control_mean_var / control_mean**4
    return math.sqrt(variance) if variance > 0 else None
