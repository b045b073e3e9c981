"""Difference in means when randomisation is by account (cluster), from per-account sums.

When every user of an account gets the same variant, users are not independent and the
plain tests overstate precision. The standard fix is the regression y = β0 + β1·treatment + ε
with a cluster-robust (CR1, "sandwich") covariance clustered by account — what statsmodels
``OLS(y, X).fit(cov_type='cluster', cov_kwds={'groups': account}, use_t=True)`` computes.

For this two-group design the sandwich collapses to per-account sums, so SQL can return one
row per account (units n_k, metric sum s_k) instead of one row per user:

    β1      = ȳ_T - ȳ_C,     ȳ_arm = Σ s_k / Σ n_k
    e_k     = s_k - n_k · ȳ_arm(k)                      (the account's summed residual)
    Var(β1) = c · ( Σ_T e_k² / N_T² + Σ_C e_k² / N_C² ),   c = G/(G-1) · (N-1)/(N-2)

with G accounts and N users in total. Inference uses a t distribution with G - 1 degrees of
freedom (Cameron & Miller, 2015), as statsmodels does with ``use_t=True``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from scipy import special

from experiments.stats._checks import check_alpha, check_count, check_finite
from experiments.stats.delta import UNDEFINED_INTERVAL, relative_lift_se
from experiments.stats.means import ROUNDING_NOISE
from experiments.stats.results import ClusteredResult

METHOD = "OLS with cluster-robust SE (CR1) by account"


def compare_means_by_cluster(
    control_clusters: Sequence[tuple[int, float]],
    treatment_clusters: Sequence[tuple[int, float]],
    alpha: float = 0.05,
) -> ClusteredResult:
    """Cluster-robust difference in means from ``(units, metric_sum)`` per account."""
    check_alpha(alpha)
    control = _read_clusters("control", control_clusters)
    treatment = _read_clusters("treatment", treatment_clusters)
    return _compare(control, treatment, alpha)


def compare_proportions_by_cluster(
    control_clusters: Sequence[tuple[int, int]],
    treatment_clusters: Sequence[tuple[int, int]],
    alpha: float = 0.05,
) -> ClusteredResult:
    """Cluster-robust difference in conversion rates from ``(users, conversions)`` per account.

    ``control_mean``/``treatment_mean`` of the result are the conversion rates.
    """
    check_alpha(alpha)
    for arm, clusters in (("control", control_clusters), ("treatment", treatment_clusters)):
        for users, conversions in clusters:
            check_count(f"{arm} conversions", conversions)
            if conversions > users:
                raise ValueError(
                    f"{arm}: an account has more conversions ({conversions}) than users ({users})"
                )
    return compare_means_by_cluster(control_clusters, treatment_clusters, alpha)


def _read_clusters(arm: str, clusters: Sequence[tuple[int, float]]) -> list[tuple[int, float]]:
    rows = []
    for units, total in clusters:
        check_count(f"{arm} cluster units", units)
        check_finite(f"{arm} cluster sum", total)
        if units > 0:  # an account without exposed users contributes nothing
            rows.append((int(units), float(total)))
    return rows


def _compare(
    control: list[tuple[int, float]], treatment: list[tuple[int, float]], alpha: float
) -> ClusteredResult:
    warnings: list[str] = []
    n_c = sum(n for n, _ in control)
    n_t = sum(n for n, _ in treatment)
    g_c, g_t = len(control), len(treatment)
    mean_c = sum(s for _, s in control) / n_c if n_c else None
    mean_t = sum(s for _, s in treatment) / n_t if n_t else None
    for arm, n in (("control", n_c), ("treatment", n_t)):
        if n == 0:
            warnings.append(f"The {arm} arm has no units yet: nothing can be compared.")

    abs_diff = se = df = ci = rel = rel_ci = t_stat = p = None
    if mean_c is not None and mean_t is not None:
        abs_diff = mean_t - mean_c
        if mean_c == 0:
            warnings.append("The control mean is 0, so the relative lift is undefined.")
        else:
            rel = mean_t / mean_c - 1.0
        if g_c < 2 or g_t < 2:
            warnings.append(
                "Each arm needs at least two accounts for a cluster-robust standard error; "
                "p_value and intervals are None."
            )
        else:
            g, n = g_c + g_t, n_c + n_t
            correction = g / (g - 1) * (n - 1) / (n - 2)
            v_c = correction * _residual_sum_sq(control, mean_c) / n_c**2
            v_t = correction * _residual_sum_sq(treatment, mean_t) / n_t**2
            se = math.sqrt(v_c + v_t)
            if se > 0:
                df = float(g - 1)
                t_crit = float(special.stdtrit(df, 1.0 - alpha / 2.0))
                t_stat = abs_diff / se
                p = float(2.0 * special.stdtr(df, -abs(t_stat)))
                ci = (abs_diff - t_crit * se, abs_diff + t_crit * se)
                if rel is not None:
                    rel_se = relative_lift_se(mean_c, v_c, mean_t, v_t)
                    if rel_se is None:
                        warnings.append(UNDEFINED_INTERVAL)
                    else:
                        rel_ci = (rel - t_crit * rel_se, rel + t_crit * rel_se)
            else:
                warnings.append("The metric has zero variance: the test is undefined, p_value is None.")

    return ClusteredResult(
        method=METHOD,
        alpha=float(alpha),
        control_units=n_c,
        treatment_units=n_t,
        control_clusters=g_c,
        treatment_clusters=g_t,
        control_mean=mean_c,
        treatment_mean=mean_t,
        abs_diff=abs_diff,
        abs_diff_se=se,
        df=df,
        abs_diff_ci=ci,
        rel_lift=rel,
        rel_lift_ci=rel_ci,
        t_statistic=t_stat,
        p_value=p,
        significant=p is not None and p < alpha,
        warnings=tuple(warnings),
    )


def _residual_sum_sq(clusters: list[tuple[int, float]], mean: float) -> float:
    """Σ (s_k - n_k·mean)²; 0 when it is rounding noise (every account at the arm's mean)."""
    residual = sum((s - k * mean) ** 2 for k, s in clusters)
    return residual if residual > ROUNDING_NOISE * sum(s * s for _, s in clusters) else 0.0
