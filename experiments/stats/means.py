"""Two-arm comparison of means (Welch's t-test) from per-arm sums, as SQL returns them."""

from __future__ import annotations

import math
from typing import Any

from scipy import special

from experiments.stats._checks import check_alpha, check_count, check_finite
from experiments.stats.bayes import normal_chance_to_beat
from experiments.stats.delta import UNDEFINED_INTERVAL, relative_lift_se
from experiments.stats.results import MeansResult
from experiments.stats.sequential import DEFAULT_TUNING, sequential_ci_half_width, sequential_p_value

# Relative size below which a centred sum of squares is floating-point cancellation noise.
ROUNDING_NOISE = 1e-10

METHOD = (
    "Welch t-test (unequal variances, Welch–Satterthwaite df); Welch t CI for the difference; "
    "delta-method CI for the relative lift; normal-approximation chance to beat control; "
    "asymptotic confidence sequences (Waudby-Smith et al. 2023) for sequential results"
)


def compare_means(
    control_n: int,
    control_sum: float,
    control_sum_sq: float,
    treatment_n: int,
    treatment_sum: float,
    treatment_sum_sq: float,
    alpha: float = 0.05,
    *,
    sequential_tuning: float = DEFAULT_TUNING,
) -> MeansResult:
    """Compare the treatment's mean with the control's from n, Σy and Σy² per arm.

    See ``MeansResult`` for the meaning of every field.
    """
    check_alpha(alpha)
    for name, value in (("control_n", control_n), ("treatment_n", treatment_n)):
        check_count(name, value)
    for name, value in (
        ("control_sum", control_sum),
        ("control_sum_sq", control_sum_sq),
        ("treatment_sum", treatment_sum),
        ("treatment_sum_sq", treatment_sum_sq),
    ):
        check_finite(name, value)
    mean_c, var_c = moments(int(control_n), control_sum, control_sum_sq)
    mean_t, var_t = moments(int(treatment_n), treatment_sum, treatment_sum_sq)
    parts = welch_parts(
        int(control_n), mean_c, var_c, int(treatment_n), mean_t, var_t, alpha, sequential_tuning
    )
    return MeansResult(
        method=METHOD,
        alpha=float(alpha),
        control_n=int(control_n),
        treatment_n=int(treatment_n),
        control_variance=var_c,
        treatment_variance=var_t,
        **parts,
    )


def moments(n: int, total: float, total_sq: float) -> tuple[float | None, float | None]:
    """(mean, sample variance with n - 1 denominator) from n, Σy, Σy²; None where undefined.

    Σy² - (Σy)²/n loses precision to cancellation: a centred sum below ``ROUNDING_NOISE`` × Σy²
    cannot be told apart from rounding noise (a constant metric) and is taken as exactly 0.
    """
    if n <= 0:
        return None, None
    mean = total / n
    if n < 2:
        return mean, None
    return mean, centred_sum(total_sq, total * mean) / (n - 1)


def centred_sum(raw: float, correction: float) -> float:
    """raw - correction (e.g. Σy² - Σy·ȳ), or 0 when it is within rounding noise of raw."""
    centred = raw - correction
    return centred if centred > ROUNDING_NOISE * abs(raw) else 0.0


def welch_parts(
    n_c: int,
    mean_c: float | None,
    var_c: float | None,
    n_t: int,
    mean_t: float | None,
    var_t: float | None,
    alpha: float,
    tuning: float,
) -> dict[str, Any]:
    """The fields shared by MeansResult and CupedResult, from per-arm moments."""
    warnings: list[str] = []
    for arm, n in (("control", n_c), ("treatment", n_t)):
        if n == 0:
            warnings.append(f"The {arm} arm has no units yet: nothing can be compared.")
        elif n == 1:
            warnings.append(f"The {arm} arm has a single unit: its variance, and so the test, is undefined.")

    abs_diff = se = df = ci = rel = rel_ci = t_stat = p = ctb = None
    seq_ci = seq_rel_ci = seq_p = None
    if mean_c is not None and mean_t is not None:
        abs_diff = mean_t - mean_c
        if mean_c == 0:
            warnings.append("The control mean is 0, so the relative lift is undefined.")
        else:
            rel = mean_t / mean_c - 1.0
    if abs_diff is not None and var_c is not None and var_t is not None:
        v_c, v_t = var_c / n_c, var_t / n_t
        se = math.sqrt(v_c + v_t)
        if se > 0:
            df = (v_c + v_t) ** 2 / (v_c**2 / (n_c - 1) + v_t**2 / (n_t - 1))
            t_crit = float(special.stdtrit(df, 1.0 - alpha / 2.0))
            t_stat = abs_diff / se
            p = float(2.0 * special.stdtr(df, -abs(t_stat)))
            ci = (abs_diff - t_crit * se, abs_diff + t_crit * se)
            ctb = normal_chance_to_beat(abs_diff, se)
            n_total = n_c + n_t
            half = sequential_ci_half_width(se, n_total, alpha, tuning)
            seq_ci = (abs_diff - half, abs_diff + half)
            seq_p = sequential_p_value(abs_diff, se, n_total, alpha, tuning)
            if rel is not None:
                rel_se = relative_lift_se(mean_c, v_c, mean_t, v_t)
                if rel_se is None:
                    warnings.append(UNDEFINED_INTERVAL)
                else:
                    rel_ci = (rel - t_crit * rel_se, rel + t_crit * rel_se)
                    rel_half = sequential_ci_half_width(rel_se, n_total, alpha, tuning)
                    seq_rel_ci = (rel - rel_half, rel + rel_half)
        else:
            warnings.append(
                "Both arms have zero variance: the t-test is undefined, so p_value and the "
                "intervals are None."
            )

    return {
        "control_mean": mean_c,
        "treatment_mean": mean_t,
        "abs_diff": abs_diff,
        "abs_diff_se": se,
        "df": df,
        "abs_diff_ci": ci,
        "rel_lift": rel,
        "rel_lift_ci": rel_ci,
        "t_statistic": t_stat,
        "p_value": p,
        "significant": p is not None and p < alpha,
        "chance_to_beat_control": ctb,
        "sequential_tuning": float(tuning),
        "seq_abs_diff_ci": seq_ci,
        "seq_rel_lift_ci": seq_rel_ci,
        "seq_p_value": seq_p,
        "seq_significant": seq_p is not None and seq_p < alpha,
        "warnings": tuple(warnings),
    }
