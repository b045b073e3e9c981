"""CUPED: variance reduction with the metric's pre-exposure value (Deng et al., 2013).

Each arm is given as sums SQL can return in one pass: ``n``, ``sum_y``, ``sum_y2``,
``sum_x``, ``sum_x2``, ``sum_xy`` — y the metric after exposure, x the same metric over a
window before exposure (0 for users without history).

    θ        = Σ_arms S_xy / Σ_arms S_xx          (pooled within-arm covariance / variance)
    ȳ_adj,a  = ȳ_a - θ (x̄_a - x̄)                  (x̄ over both arms keeps the metric's scale)
    s²_adj,a = (S_yy - 2θ S_xy + θ² S_xx)_a / (n_a - 1)

with S the centred sums of squares and products within an arm. The Welch test then runs on
the adjusted means and variances, treating θ as known (the usual CUPED practice; estimating θ
from the same data costs O(1/n) bias, negligible at experiment sizes). The adjusted difference
equals the treatment coefficient of the regression y ~ 1 + treatment + x (ANCOVA).
"""

from __future__ import annotations

from collections.abc import Mapping

from experiments.stats._checks import check_alpha, check_count, check_finite
from experiments.stats.means import ROUNDING_NOISE, centred_sum, compare_means, welch_parts
from experiments.stats.results import CupedResult
from experiments.stats.sequential import DEFAULT_TUNING

METHOD = (
    "CUPED (Deng et al. 2013) with theta = pooled within-arm Cov(x, y) / Var(x); "
    "Welch t-test on the adjusted means; delta-method CI for the relative lift; "
    "asymptotic confidence sequences (Waudby-Smith et al. 2023) for sequential results"
)
ARM_KEYS = ("n", "sum_y", "sum_y2", "sum_x", "sum_x2", "sum_xy")


def compare_means_cuped(
    control: Mapping[str, float],
    treatment: Mapping[str, float],
    alpha: float = 0.05,
    *,
    sequential_tuning: float = DEFAULT_TUNING,
) -> CupedResult:
    """CUPED-adjusted Welch comparison; see ``CupedResult`` for every field."""
    check_alpha(alpha)
    arm_c = _read_arm("control", control)
    arm_t = _read_arm("treatment", treatment)
    unadjusted = compare_means(
        arm_c["n"], arm_c["sum_y"], arm_c["sum_y2"],
        arm_t["n"], arm_t["sum_y"], arm_t["sum_y2"],
        alpha, sequential_tuning=sequential_tuning,
    )  # fmt: skip
    warnings: list[str] = []

    n_c, n_t = int(arm_c["n"]), int(arm_t["n"])
    if n_c < 2 or n_t < 2:
        theta = None
        mean_c = var_c = mean_t = var_t = None
        if n_c >= 1:
            mean_c = arm_c["sum_y"] / n_c
        if n_t >= 1:
            mean_t = arm_t["sum_y"] / n_t
    else:
        c, t = _centred(arm_c), _centred(arm_t)
        s_xx = c["s_xx"] + t["s_xx"]
        s_xy = c["s_xy"] + t["s_xy"]
        if s_xx == 0:
            theta = 0.0
            warnings.append(
                "The pre-exposure covariate has no variance, so CUPED cannot reduce variance: "
                "theta is 0 and the result equals the unadjusted test."
            )
        else:
            theta = s_xy / s_xx
        x_bar = (arm_c["sum_x"] + arm_t["sum_x"]) / (n_c + n_t)
        mean_c = c["y_bar"] - theta * (c["x_bar"] - x_bar)
        mean_t = t["y_bar"] - theta * (t["x_bar"] - x_bar)
        var_c = _adjusted_variance(c, theta, n_c)
        var_t = _adjusted_variance(t, theta, n_t)

    parts = welch_parts(n_c, mean_c, var_c, n_t, mean_t, var_t, alpha, sequential_tuning)
    variance_reduction = None
    if parts["abs_diff_se"] is not None and unadjusted.abs_diff_se:
        variance_reduction = 1.0 - parts["abs_diff_se"] ** 2 / unadjusted.abs_diff_se**2
    parts["warnings"] = tuple(warnings) + parts["warnings"]
    return CupedResult(
        method=METHOD,
        alpha=float(alpha),
        theta=theta,
        variance_reduction=variance_reduction,
        unadjusted=unadjusted,
        **parts,
    )


def _read_arm(arm: str, sums: Mapping[str, float]) -> dict[str, float]:
    missing = [key for key in ARM_KEYS if key not in sums]
    if missing:
        raise ValueError(f"{arm}: missing CUPED sums {missing}; expected keys {ARM_KEYS}")
    values = {key: float(sums[key]) for key in ARM_KEYS}
    check_count(f"{arm}.n", values["n"])
    for key in ARM_KEYS[1:]:
        check_finite(f"{arm}.{key}", values[key])
    return values


def _centred(arm: Mapping[str, float]) -> dict[str, float]:
    """Means and centred sums of squares/products within one arm (n ≥ 2)."""
    n = arm["n"]
    y_bar, x_bar = arm["sum_y"] / n, arm["sum_x"] / n
    return {
        "y_bar": y_bar,
        "x_bar": x_bar,
        "sum_y2": arm["sum_y2"],
        "s_yy": centred_sum(arm["sum_y2"], arm["sum_y"] * y_bar),
        "s_xx": centred_sum(arm["sum_x2"], arm["sum_x"] * x_bar),
        "s_xy": arm["sum_xy"] - arm["sum_x"] * y_bar,
    }


def _adjusted_variance(arm: Mapping[str, float], theta: float, n: int) -> float:
    """Sample variance of y - θx within the arm; 0 when it is rounding noise."""
    centred = arm["s_yy"] - 2 * theta * arm["s_xy"] + theta**2 * arm["s_xx"]
    return centred / (n - 1) if centred > ROUNDING_NOISE * arm["sum_y2"] else 0.0
