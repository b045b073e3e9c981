"""Two-arm comparison of conversion rates from per-arm counts."""

from __future__ import annotations

import math

from scipy import special, stats

from experiments.stats._checks import check_alpha, check_count
from experiments.stats.bayes import beta_posterior_comparison
from experiments.stats.delta import UNDEFINED_INTERVAL, relative_lift_se
from experiments.stats.results import ProportionsResult
from experiments.stats.sequential import DEFAULT_TUNING, sequential_ci_half_width, sequential_p_value

METHOD = (
    "two-proportion Wald z-test with unpooled variance; Wald CI for the difference; "
    "delta-method CI for the relative lift; Fisher exact test (two-sided); "
    "Beta(1,1)-prior posteriors for chance to beat control and expected loss; "
    "asymptotic confidence sequences (Waudby-Smith et al. 2023) for sequential results"
)

# Below this many conversions or non-conversions in an arm, the normal approximation behind
# the Wald test and intervals is poor (the usual np ≥ 5 rule of thumb).
SMALL_COUNT = 5


def compare_proportions(
    control_users: int,
    control_conversions: int,
    treatment_users: int,
    treatment_conversions: int,
    alpha: float = 0.05,
    *,
    sequential_tuning: float = DEFAULT_TUNING,
    fisher: bool = True,
) -> ProportionsResult:
    """Compare the treatment's conversion rate with the control's.

    ``fisher=False`` skips Fisher's exact test (≈1 ms per call; simulations turn it off) unless
    counts are small or a rate is 0, where it is always computed because it is then the
    p-value to read. See ``ProportionsResult`` for the meaning of every field.
    """
    check_alpha(alpha)
    _check_arm("control", control_users, control_conversions)
    _check_arm("treatment", treatment_users, treatment_conversions)
    n_c, x_c, n_t, x_t = (
        int(control_users),
        int(control_conversions),
        int(treatment_users),
        int(treatment_conversions),
    )
    warnings: list[str] = []

    p_c = x_c / n_c if n_c > 0 else None
    p_t = x_t / n_t if n_t > 0 else None
    for arm, n in (("control", n_c), ("treatment", n_t)):
        if n == 0:
            warnings.append(f"The {arm} arm has no users yet: nothing can be compared.")

    abs_diff = se = ci = rel = rel_ci = z = p = None
    seq_ci = seq_rel_ci = seq_p = None
    fisher_p = ctb = loss_c = loss_t = None

    if p_c is not None and p_t is not None:
        abs_diff = p_t - p_c
        se = math.sqrt(p_c * (1.0 - p_c) / n_c + p_t * (1.0 - p_t) / n_t)
        z_crit = float(special.ndtri(1.0 - alpha / 2.0))
        n_total = n_c + n_t
        if p_c == 0:
            warnings.append("The control conversion rate is 0, so the relative lift is undefined.")
        small = min(x_c, n_c - x_c, x_t, n_t - x_t) < SMALL_COUNT
        if small:
            warnings.append(
                f"An arm has fewer than {SMALL_COUNT} conversions or non-conversions: the normal "
                "approximation is unreliable; read Fisher's exact p-value (fisher_p_value)."
            )
        if se > 0:
            z = abs_diff / se
            p = float(2.0 * special.ndtr(-abs(z)))
            ci = (abs_diff - z_crit * se, abs_diff + z_crit * se)
            half = sequential_ci_half_width(se, n_total, alpha, sequential_tuning)
            seq_ci = (abs_diff - half, abs_diff + half)
            seq_p = sequential_p_value(abs_diff, se, n_total, alpha, sequential_tuning)
        else:
            warnings.append(
                "Both arms have zero variance (every rate is 0 or 1): the Wald test is undefined, "
                "so p_value and the intervals are None; read Fisher's exact p-value."
            )
        if p_c > 0:
            rel = p_t / p_c - 1.0
            rel_se = relative_lift_se(p_c, p_c * (1.0 - p_c) / n_c, p_t, p_t * (1.0 - p_t) / n_t)
            if rel_se is not None:
                rel_ci = (rel - z_crit * rel_se, rel + z_crit * rel_se)
                rel_half = sequential_ci_half_width(rel_se, n_total, alpha, sequential_tuning)
                seq_rel_ci = (rel - rel_half, rel + rel_half)
            elif se > 0:
                warnings.append(UNDEFINED_INTERVAL)
        if fisher or small or se == 0:
            fisher_p = float(
                stats.fisher_exact([[x_t, n_t - x_t], [x_c, n_c - x_c]], alternative="two-sided").pvalue
            )
            fisher_p = min(fisher_p, 1.0)
        ctb, loss_c, loss_t = beta_posterior_comparison(
            1.0 + x_c, 1.0 + n_c - x_c, 1.0 + x_t, 1.0 + n_t - x_t
        )

    return ProportionsResult(
        method=METHOD,
        alpha=float(alpha),
        control_users=n_c,
        control_conversions=x_c,
        treatment_users=n_t,
        treatment_conversions=x_t,
        control_rate=p_c,
        treatment_rate=p_t,
        abs_diff=abs_diff,
        abs_diff_se=se,
        abs_diff_ci=ci,
        rel_lift=rel,
        rel_lift_ci=rel_ci,
        z_statistic=z,
        p_value=p,
        significant=p is not None and p < alpha,
        fisher_p_value=fisher_p,
        chance_to_beat_control=ctb,
        expected_loss_control=loss_c,
        expected_loss_treatment=loss_t,
        sequential_tuning=float(sequential_tuning),
        seq_abs_diff_ci=seq_ci,
        seq_rel_lift_ci=seq_rel_ci,
        seq_p_value=seq_p,
        seq_significant=seq_p is not None and seq_p < alpha,
        warnings=tuple(warnings),
    )


def _check_arm(arm: str, users: int, conversions: int) -> None:
    check_count(f"{arm}_users", users)
    check_count(f"{arm}_conversions", conversions)
    if conversions > users:
        raise ValueError(f"{arm}: conversions ({conversions!r}) exceed users ({users!r})")
