"""Always-valid inference by asymptotic confidence sequences (Waudby-Smith et al., 2023).

A confidence sequence (CS) covers the true effect at *every* sample size simultaneously with
probability ≥ 1 - alpha, so results may be looked at as often as anyone likes. We use the
two-sided Gaussian-mixture asymptotic CS (Waudby-Smith, Arbour, Sinha, Kennedy & Ramdas,
"Time-uniform central limit theory and asymptotic confidence sequences", Annals of Statistics
2024; arXiv 2103.06476), the construction GrowthBook's sequential mode uses:

    half-width = σ · sqrt( 2(nρ² + 1) / (n²ρ²) · log( sqrt(nρ² + 1) / α ) )

where σ is the per-observation standard deviation and n the number of observations. For a
two-arm comparison with standard error ``se`` over ``n = n_control + n_treatment`` units, the
per-observation analogue is σ = se·sqrt(n). ρ is tuned so the sequence is tightest at
n = N* (the ``tuning`` parameter):

    ρ² = ( -2 log α + log(-2 log α + 1) ) / N*

Each call evaluates the CS at one look from summary numbers; it does not intersect the
intervals of earlier looks (that would need their history, and only narrows the sequence).
"""

from __future__ import annotations

import math

from experiments.stats._checks import check_alpha

DEFAULT_TUNING = 5000.0


def sequential_rho(alpha: float, tuning: float = DEFAULT_TUNING) -> float:
    """The mixing parameter ρ that makes the sequence tightest at ``tuning`` (= N*) units.

    This is the closed-form approximation of Waudby-Smith et al. (2023) to the ρ minimising
    the half-width at n = N*; the exact minimiser differs by a few per cent and the width at
    N* by far less (see ``tests/experiments/test_stats_sequential.py``).
    """
    check_alpha(alpha)
    if not tuning > 0:
        raise ValueError(f"tuning (N*) must be positive, got {tuning!r}")
    log_alpha = math.log(alpha)
    return math.sqrt((-2.0 * log_alpha + math.log(-2.0 * log_alpha + 1.0)) / tuning)


def sequential_ci_half_width(
    se: float, n: float, alpha: float, tuning: float = DEFAULT_TUNING, *, rho: float | None = None
) -> float | None:
    """Half-width of the always-valid interval for an estimate with standard error ``se``.

    ``n`` is the number of independent units the estimate is built from (both arms together).
    ``rho`` defaults to ``sequential_rho(alpha, tuning)``. Returns None when ``se`` or ``n``
    make the question meaningless (n < 1, se not finite, se < 0).
    """
    check_alpha(alpha)
    if not (n >= 1 and se is not None and math.isfinite(se) and se >= 0):
        return None
    if rho is None:
        rho = sequential_rho(alpha, tuning)
    n_rho2 = n * rho * rho
    sigma = se * math.sqrt(n)
    return sigma * math.sqrt(2.0 * (n_rho2 + 1.0) / (n * n_rho2) * math.log(math.sqrt(n_rho2 + 1.0) / alpha))


def sequential_p_value(
    estimate: float, se: float, n: float, alpha: float, tuning: float = DEFAULT_TUNING
) -> float | None:
    """Always-valid two-sided p-value for H0: effect = 0.

    The smallest level a at which the confidence sequence (with ρ tuned for the nominal
    ``alpha`` and N*) excludes 0. Solving |estimate| = half-width(a) for a gives the closed
    form, with z = estimate / se:

        p = min(1, sqrt(nρ² + 1) · exp( -z² nρ² / (2(nρ² + 1)) ))

    so ``p < alpha`` exactly when the ``1 - alpha`` sequence excludes 0. None when se is 0
    or n < 1.
    """
    check_alpha(alpha)
    if not (n >= 1 and se is not None and math.isfinite(se) and se > 0):
        return None
    rho = sequential_rho(alpha, tuning)
    n_rho2 = n * rho * rho
    z = estimate / se
    log_p = 0.5 * math.log(n_rho2 + 1.0) - z * z * n_rho2 / (2.0 * (n_rho2 + 1.0))
    return min(1.0, math.exp(log_p))
