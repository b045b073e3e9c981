"""Asymptotic confidence sequences: the formula, the tuning of ρ, and the always-valid p-value."""

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize, stats

from experiments.stats import (
    compare_means,
    compare_proportions,
    sequential_ci_half_width,
    sequential_p_value,
    sequential_rho,
)


def _paper_half_width(sigma, t, rho2, alpha):
    """Waudby-Smith et al. (2023), two-sided Gaussian-mixture boundary, written from the paper:
    σ̂ · sqrt( 2(tρ² + 1) / (t²ρ²) · log( sqrt(tρ² + 1) / α ) )."""
    return sigma * math.sqrt(2 * (t * rho2 + 1) / (t**2 * rho2) * math.log(math.sqrt(t * rho2 + 1) / alpha))


@pytest.mark.parametrize(
    "se, n, alpha, tuning",
    [(0.01, 2000, 0.05, 5000), (0.5, 50, 0.1, 5000), (0.002, 10**6, 0.01, 10**5)],
    ids=["a", "b", "c"],
)
def test_sequential_ci_half_width__inputs__equals_paper_formula_with_sigma_se_root_n(se, n, alpha, tuning):
    rho = sequential_rho(alpha, tuning)

    expected = _paper_half_width(se * math.sqrt(n), n, rho**2, alpha)

    assert sequential_ci_half_width(se, n, alpha, tuning) == pytest.approx(expected, rel=1e-12)


def test_sequential_rho__defaults__matches_closed_form():
    log_a = math.log(0.05)

    assert sequential_rho(0.05, 5000) == pytest.approx(
        math.sqrt((-2 * log_a + math.log(-2 * log_a + 1)) / 5000)
    )


@pytest.mark.parametrize(
    "alpha, tuning", [(0.05, 5000), (0.01, 20000), (0.1, 1000)], ids=["default", "strict", "loose"]
)
def test_sequential_rho__closed_form__nearly_minimises_width_at_tuning_n(alpha, tuning):
    # The closed form approximates the ρ that makes the sequence tightest at n = N*.
    width = lambda log_rho2: _paper_half_width(1.0, tuning, math.exp(log_rho2), alpha)  # noqa: E731
    best = optimize.minimize_scalar(width, bounds=(-20, 5), method="bounded", options={"xatol": 1e-10})
    rho_closed = sequential_rho(alpha, tuning)

    assert rho_closed == pytest.approx(math.exp(best.x / 2), rel=0.03)
    assert width(math.log(rho_closed**2)) == pytest.approx(best.fun, rel=1e-3)
    # …and it is tighter at N* than the same ρ-formula tuned for a very different N*.
    assert width(math.log(rho_closed**2)) < width(math.log(sequential_rho(alpha, tuning * 50) ** 2))


@pytest.mark.parametrize("n", [10, 100, 1000, 5000, 10**5, 10**7], ids=lambda n: f"n-{n}")
def test_sequential_ci_half_width__any_n__wider_than_fixed_horizon_interval(n):
    assert sequential_ci_half_width(1.0, n, 0.05) > stats.norm.ppf(0.975) * 1.0


def test_sequential_p_value__closed_form__matches_bisection_on_interval_exclusion():
    estimate, se, n, alpha = 0.031, 0.01, 8000, 0.05
    rho = sequential_rho(alpha, 5000)

    # The smallest level a whose sequence (same ρ) excludes 0: solve |estimate| = half-width(a).
    gap = lambda a: sequential_ci_half_width(se, n, a, rho=rho) - abs(estimate)  # noqa: E731
    by_bisection = optimize.bisect(gap, 1e-12, 1 - 1e-12, xtol=1e-15)

    assert sequential_p_value(estimate, se, n, alpha) == pytest.approx(by_bisection, rel=1e-8)


@given(
    estimate=st.floats(-1, 1),
    se=st.floats(1e-4, 1),
    n=st.integers(1, 10**7),
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
)
def test_sequential_p_value__any_inputs__below_alpha_exactly_when_interval_excludes_zero(
    estimate, se, n, alpha
):
    p = sequential_p_value(estimate, se, n, alpha)
    half = sequential_ci_half_width(se, n, alpha)

    assert 0 <= p <= 1
    if abs(abs(estimate) - half) > 1e-9 * max(half, 1e-12):
        assert (p < alpha) == (abs(estimate) > half)
    # Always-valid p-values are never smaller than the fixed-horizon ones.
    assert p >= 2 * stats.norm.sf(abs(estimate) / se) - 1e-12


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: sequential_ci_half_width(0.1, 0, 0.05), id="no-units"),
        pytest.param(lambda: sequential_ci_half_width(float("nan"), 100, 0.05), id="nan-se"),
        pytest.param(lambda: sequential_p_value(0.1, 0.0, 100, 0.05), id="zero-se"),
        pytest.param(lambda: sequential_p_value(0.1, 0.01, 0, 0.05), id="p-no-units"),
    ],
)
def test_sequential_helpers__meaningless_inputs__return_none(call):
    assert call() is None


def test_sequential_rho__non_positive_tuning__raises_value_error():
    with pytest.raises(ValueError):
        sequential_rho(0.05, 0)


def test_compare_means__sequential_fields__relative_interval_uses_same_boundary():
    result = compare_means(3000, 6000.0, 24000.0, 3100, 6510.0, 26000.0)

    scale = (result.seq_abs_diff_ci[1] - result.abs_diff) / result.abs_diff_se
    rel_se = (result.rel_lift_ci[1] - result.rel_lift) / stats.t.ppf(0.975, result.df)
    assert result.seq_rel_lift_ci[1] - result.rel_lift == pytest.approx(scale * rel_se, rel=1e-9)
    assert result.seq_p_value == pytest.approx(
        sequential_p_value(result.abs_diff, result.abs_diff_se, 6100, 0.05)
    )


def test_compare_proportions__larger_tuning__narrower_late_wider_early():
    late = [
        compare_proportions(50000, 5000, 50000, 5150, sequential_tuning=t, fisher=False)
        for t in (1000, 100000)
    ]
    early = [compare_proportions(200, 20, 200, 25, sequential_tuning=t, fisher=False) for t in (1000, 100000)]

    width = lambda r: r.seq_abs_diff_ci[1] - r.seq_abs_diff_ci[0]  # noqa: E731
    assert width(late[1]) < width(late[0])
    assert width(early[1]) > width(early[0])


def test_sequential_ci_half_width__vectorised_use__consistent_with_scalar():
    # Simulations call the helper per look; make sure numpy scalars are accepted.
    assert sequential_ci_half_width(np.float64(0.01), np.int64(4000), 0.05) == pytest.approx(
        sequential_ci_half_width(0.01, 4000, 0.05)
    )
