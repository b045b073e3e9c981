"""Planning: sample size, minimum detectable effect, achieved power and progress.

Two-sided test at level alpha, equal allocation, normal approximation with *unpooled*
variance under the alternative (the same variance the analysis uses):

    n per variant = (z_{1-α/2} + z_{power})² · (p1(1-p1) + p2(1-p2)) / δ²,   p2 = p1 + δ

the textbook unpooled formula (e.g. Chow, Shao & Wang, "Sample Size Calculations in Clinical
Research", two-sample proportions). For means with a common standard deviation σ:
n = 2 (z_{1-α/2} + z_{power})² σ² / δ². Both ignore the negligible chance of rejecting in the
wrong direction. statsmodels ``NormalIndPower`` with Cohen's h (``proportion_effectsize``,
arcsine scale) gives sizes within ~1 % of ours (docs/statistics.md has a table).
"""

from __future__ import annotations

import math

from scipy import optimize, special

from experiments.stats._checks import check_alpha


def sample_size_per_variant(
    baseline_rate: float, mde_abs: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Users per variant to detect an absolute change ``mde_abs`` of a conversion rate.

    None when the question is meaningless: mde 0, or baseline + mde outside [0, 1].
    """
    _check_design(alpha, power)
    _check_rate(baseline_rate)
    p1, p2 = baseline_rate, baseline_rate + mde_abs
    if mde_abs == 0 or not 0.0 <= p2 <= 1.0:
        return None
    variance = p1 * (1 - p1) + p2 * (1 - p2)
    if variance == 0:  # 0 → 1: one user per arm shows it
        return 1
    return max(1, math.ceil(_z_sum(alpha, power) ** 2 * variance / mde_abs**2 - 1e-9))


def minimum_detectable_effect(
    baseline_rate: float, users_per_variant: float, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """Smallest absolute increase of the rate detectable with ``users_per_variant`` per arm.

    Solves the sample-size formula for δ > 0 numerically (brentq). None when no users, or
    when even a rise to a rate of 1 is not detectable with so few users.
    """
    _check_design(alpha, power)
    _check_rate(baseline_rate)
    if users_per_variant <= 0 or baseline_rate >= 1.0:
        return None
    z = _z_sum(alpha, power)
    p1 = baseline_rate

    def gap(delta: float) -> float:
        p2 = p1 + delta
        return z * math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / users_per_variant) - delta

    upper = 1.0 - p1
    if gap(upper) > 0:
        return None
    lower = min(upper, 1e-12)
    if gap(lower) <= 0:
        return lower
    return float(optimize.brentq(gap, lower, upper, xtol=1e-14, rtol=1e-12))


def power_proportions(
    baseline_rate: float, mde_abs: float, users_per_variant: float, alpha: float = 0.05
) -> float | None:
    """Probability that the two-sided unpooled Wald test rejects when the lift is ``mde_abs``
    (both rejection tails counted)."""
    check_alpha(alpha)
    _check_rate(baseline_rate)
    p1, p2 = baseline_rate, baseline_rate + mde_abs
    if users_per_variant <= 0 or not 0.0 <= p2 <= 1.0:
        return None
    se = math.sqrt((p1 * (1 - p1) + p2 * (1 - p2)) / users_per_variant)
    if se == 0:
        return None
    z_a = float(special.ndtri(1 - alpha / 2))
    shift = mde_abs / se
    return float(special.ndtr(shift - z_a) + special.ndtr(-shift - z_a))


def sample_size_per_variant_means(
    std: float, mde_abs: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Units per variant to detect an absolute change ``mde_abs`` of a mean with std ``std``.

    None when mde is 0; 1 when the metric has no variance.
    """
    _check_design(alpha, power)
    if not (math.isfinite(std) and std >= 0):
        raise ValueError(f"std must be non-negative, got {std!r}")
    if mde_abs == 0:
        return None
    if std == 0:
        return 1
    return max(1, math.ceil(2 * _z_sum(alpha, power) ** 2 * std**2 / mde_abs**2 - 1e-9))


def minimum_detectable_effect_means(
    std: float, users_per_variant: float, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """Smallest absolute change of a mean detectable with ``users_per_variant`` per arm."""
    _check_design(alpha, power)
    if users_per_variant <= 0:
        return None
    return _z_sum(alpha, power) * std * math.sqrt(2.0 / users_per_variant)


def progress_to_planned_sample(users_so_far: int, planned: int | None) -> float | None:
    """Share of the planned sample collected so far (may exceed 1 when over-run); None when
    nothing was planned."""
    if not planned or planned <= 0:
        return None
    return max(users_so_far, 0) / planned


def _z_sum(alpha: float, power: float) -> float:
    return float(special.ndtri(1 - alpha / 2) + special.ndtri(power))


def _check_design(alpha: float, power: float) -> None:
    check_alpha(alpha)
    if not 0.0 < power < 1.0:
        raise ValueError(f"power must be in (0, 1), got {power!r}")


def _check_rate(rate: float) -> None:
    if not 0.0 <= rate <= 1.0:
        raise ValueError(f"baseline_rate must be in [0, 1], got {rate!r}")
