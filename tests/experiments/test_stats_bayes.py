"""Chance to beat control and expected loss against direct integration and Monte Carlo."""

import numpy as np
import pytest
from scipy import integrate, stats

from experiments.stats import (
    beta_chance_to_beat,
    beta_expected_loss,
    compare_proportions,
    normal_chance_to_beat,
)

POSTERIORS = [
    pytest.param(1, 1, 1, 1, id="two-uniform-priors"),
    pytest.param(31, 971, 21, 981, id="control-ahead"),
    pytest.param(1, 1001, 6, 996, id="zero-control-conversions"),
    pytest.param(11, 11, 1001, 1001, id="wide-control-narrow-treatment"),
    pytest.param(3001, 97001, 3101, 96901, id="large-arms"),
    pytest.param(1, 11, 11, 1, id="far-apart"),
    pytest.param(2, 3, 1, 1, id="tiny-arms"),
]


def _bulk(*params):
    (a1, b1), (a2, b2) = params
    lo = min(stats.beta.ppf(1e-13, a1, b1), stats.beta.ppf(1e-13, a2, b2))
    hi = max(stats.beta.isf(1e-13, a1, b1), stats.beta.isf(1e-13, a2, b2))
    return lo, hi


def _quad_chance(a_c, b_c, a_t, b_t):
    """P(T > C) = ∫ f_C(x) (1 - F_T(x)) dx with adaptive quadrature of the scipy densities."""
    lo, hi = _bulk((a_c, b_c), (a_t, b_t))
    points = [stats.beta.mean(a_c, b_c), stats.beta.mean(a_t, b_t)]
    integrand = lambda x: stats.beta.pdf(x, a_c, b_c) * stats.beta.sf(x, a_t, b_t)  # noqa: E731
    return integrate.quad(integrand, lo, hi, points=points, epsabs=1e-13, epsrel=1e-12, limit=500)[0]


def _quad_loss(a_this, b_this, a_other, b_other):
    """E[max(other - this, 0)] = ∫ P(this < u) P(other > u) du (independent arms on [0, 1])."""
    lo, hi = _bulk((a_this, b_this), (a_other, b_other))
    points = [stats.beta.mean(a_this, b_this), stats.beta.mean(a_other, b_other)]
    integrand = lambda u: stats.beta.cdf(u, a_this, b_this) * stats.beta.sf(u, a_other, b_other)  # noqa: E731
    return integrate.quad(integrand, lo, hi, points=points, epsabs=1e-14, epsrel=1e-12, limit=500)[0]


def _dblquad_loss(a_this, b_this, a_other, b_other):
    """E[max(other - this, 0)] as the double integral of (y - x) over {y > x}."""
    integrand = lambda y, x: (y - x) * stats.beta.pdf(x, a_this, b_this) * stats.beta.pdf(y, a_other, b_other)  # noqa: E731
    return integrate.dblquad(integrand, 0, 1, lambda x: x, lambda x: 1, epsabs=1e-12, epsrel=1e-10)[0]


@pytest.mark.parametrize("a_c, b_c, a_t, b_t", POSTERIORS)
def test_beta_chance_to_beat__fixed_posteriors__matches_direct_quadrature(a_c, b_c, a_t, b_t):
    assert beta_chance_to_beat(a_c, b_c, a_t, b_t) == pytest.approx(
        _quad_chance(a_c, b_c, a_t, b_t), abs=1e-9
    )


@pytest.mark.parametrize("a_c, b_c, a_t, b_t", POSTERIORS)
def test_beta_expected_loss__fixed_posteriors__matches_cdf_product_integral(a_c, b_c, a_t, b_t):
    assert beta_expected_loss(a_c, b_c, a_t, b_t) == pytest.approx(_quad_loss(a_c, b_c, a_t, b_t), abs=1e-10)
    assert beta_expected_loss(a_t, b_t, a_c, b_c) == pytest.approx(_quad_loss(a_t, b_t, a_c, b_c), abs=1e-10)


@pytest.mark.parametrize(
    "a_c, b_c, a_t, b_t",
    [pytest.param(2, 3, 1, 1, id="tiny-arms"), pytest.param(4, 9, 7, 5, id="small-arms")],
)
def test_beta_expected_loss__small_posteriors__matches_double_integral(a_c, b_c, a_t, b_t):
    assert beta_expected_loss(a_c, b_c, a_t, b_t) == pytest.approx(
        _dblquad_loss(a_c, b_c, a_t, b_t), abs=1e-9
    )


@pytest.mark.parametrize("a_c, b_c, a_t, b_t", POSTERIORS)
def test_beta_expected_loss__any_posteriors__difference_equals_difference_of_means(a_c, b_c, a_t, b_t):
    # E[(T-C)+] - E[(C-T)+] = E[T - C]
    gap = beta_expected_loss(a_c, b_c, a_t, b_t) - beta_expected_loss(a_t, b_t, a_c, b_c)
    assert gap == pytest.approx(a_t / (a_t + b_t) - a_c / (a_c + b_c), abs=1e-12)


def test_beta_posteriors__seeded_monte_carlo__agrees_within_sampling_error():
    rng = np.random.default_rng(20240611)
    a_c, b_c, a_t, b_t = 121, 881, 141, 861
    c = rng.beta(a_c, b_c, 2_000_000)
    t = rng.beta(a_t, b_t, 2_000_000)

    assert beta_chance_to_beat(a_c, b_c, a_t, b_t) == pytest.approx(np.mean(t > c), abs=0.002)
    assert beta_expected_loss(a_c, b_c, a_t, b_t) == pytest.approx(np.mean(np.maximum(t - c, 0)), rel=0.01)
    assert beta_expected_loss(a_t, b_t, a_c, b_c) == pytest.approx(np.mean(np.maximum(c - t, 0)), rel=0.02)


@pytest.mark.parametrize(
    "n, x", [(10, 3), (1000, 0), (50000, 2500)], ids=["tiny", "zero-conversions", "large"]
)
def test_compare_proportions__identical_arms__chance_to_beat_is_half_and_losses_equal(n, x):
    result = compare_proportions(n, x, n, x, fisher=False)

    assert result.chance_to_beat_control == pytest.approx(0.5, abs=1e-9)
    assert result.expected_loss_control == pytest.approx(result.expected_loss_treatment, rel=1e-9, abs=1e-15)


def test_compare_proportions__swapped_arms__chance_to_beat_complements():
    forward = compare_proportions(900, 90, 1100, 130, fisher=False)
    backward = compare_proportions(1100, 130, 900, 90, fisher=False)

    assert forward.chance_to_beat_control + backward.chance_to_beat_control == pytest.approx(1.0, abs=1e-10)
    assert forward.expected_loss_control == pytest.approx(backward.expected_loss_treatment, rel=1e-10)


def test_beta_chance_to_beat__parameters_below_one__raise_value_error():
    with pytest.raises(ValueError):
        beta_chance_to_beat(0.5, 1, 1, 1)


@pytest.mark.parametrize(
    "diff, se, expected",
    [(0.0, 1.0, 0.5), (1.96, 1.0, stats.norm.cdf(1.96)), (-2.0, 0.5, stats.norm.cdf(-4.0)), (1.0, 0.0, None)],
    ids=["no-difference", "z-1.96", "negative", "zero-se"],
)
def test_normal_chance_to_beat__fixed_inputs__is_normal_cdf_of_z(diff, se, expected):
    value = normal_chance_to_beat(diff, se)

    assert value == (None if expected is None else pytest.approx(expected, rel=1e-12))
