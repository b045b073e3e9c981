"""Sample size, MDE and power against closed forms and statsmodels' power classes."""

import math

import pytest
from scipy import stats
from statsmodels.stats.power import NormalIndPower, TTestIndPower
from statsmodels.stats.proportion import proportion_effectsize

from experiments.stats import (
    minimum_detectable_effect,
    minimum_detectable_effect_means,
    power_proportions,
    progress_to_planned_sample,
    sample_size_per_variant,
    sample_size_per_variant_means,
)

DESIGNS = [
    pytest.param(0.10, 0.02, 0.05, 0.8, id="10pct-plus-2pts"),
    pytest.param(0.30, -0.03, 0.05, 0.9, id="30pct-minus-3pts"),
    pytest.param(0.02, 0.005, 0.01, 0.8, id="rare-event-strict-alpha"),
    pytest.param(0.50, 0.10, 0.10, 0.8, id="coin-flip-large-effect"),
]


@pytest.mark.parametrize("baseline, mde, alpha, power", DESIGNS)
def test_sample_size_per_variant__design__equals_unpooled_closed_form(baseline, mde, alpha, power):
    z = stats.norm.ppf(1 - alpha / 2) + stats.norm.ppf(power)
    p2 = baseline + mde

    expected = math.ceil(z**2 * (baseline * (1 - baseline) + p2 * (1 - p2)) / mde**2)

    assert sample_size_per_variant(baseline, mde, alpha, power) == expected


@pytest.mark.parametrize("baseline, mde, alpha, power", DESIGNS)
def test_sample_size_per_variant__design__within_two_percent_of_statsmodels_cohens_h(
    baseline, mde, alpha, power
):
    # statsmodels works on the arcsine scale (Cohen's h): a slightly different approximation.
    effect = proportion_effectsize(baseline + mde, baseline)
    reference = NormalIndPower().solve_power(
        effect_size=effect, alpha=alpha, power=power, ratio=1.0, alternative="two-sided"
    )

    assert sample_size_per_variant(baseline, mde, alpha, power) == pytest.approx(reference, rel=0.02)


@pytest.mark.parametrize("baseline, mde, alpha, power", DESIGNS)
def test_sample_size_per_variant__returned_n__reaches_power_and_one_fewer_does_not(
    baseline, mde, alpha, power
):
    n = sample_size_per_variant(baseline, mde, alpha, power)

    assert power_proportions(baseline, mde, n, alpha) >= power
    assert power_proportions(baseline, mde, n - 1, alpha) < power


@pytest.mark.parametrize(
    "baseline, users",
    [(0.1, 3839), (0.3, 500), (0.02, 100000), (0.0, 2000)],
    ids=["a", "b", "c", "zero-baseline"],
)
def test_minimum_detectable_effect__users__inverts_sample_size(baseline, users):
    mde = minimum_detectable_effect(baseline, users)

    assert mde > 0
    assert sample_size_per_variant(baseline, mde) == pytest.approx(users, abs=1)
    assert sample_size_per_variant(baseline, mde * 0.99) > users


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: sample_size_per_variant(0.1, 0.0), id="zero-mde"),
        pytest.param(lambda: sample_size_per_variant(0.95, 0.1), id="beyond-rate-one"),
        pytest.param(lambda: minimum_detectable_effect(0.1, 0), id="no-users"),
        pytest.param(lambda: minimum_detectable_effect(0.5, 2), id="too-few-users-for-any-effect"),
        pytest.param(lambda: minimum_detectable_effect(1.0, 1000), id="baseline-one"),
        pytest.param(lambda: sample_size_per_variant_means(2.0, 0.0), id="means-zero-mde"),
        pytest.param(lambda: minimum_detectable_effect_means(2.0, 0), id="means-no-users"),
        pytest.param(lambda: progress_to_planned_sample(100, 0), id="nothing-planned"),
    ],
)
def test_power_helpers__meaningless_question__return_none(call):
    assert call() is None


@pytest.mark.parametrize("std, mde", [(1.0, 0.1), (12.5, 2.0), (0.3, 0.01)], ids=["unit", "revenue", "small"])
def test_sample_size_per_variant_means__design__matches_statsmodels_normal_power(std, mde):
    reference = NormalIndPower().solve_power(effect_size=mde / std, alpha=0.05, power=0.8, ratio=1.0)
    t_reference = TTestIndPower().solve_power(effect_size=mde / std, alpha=0.05, power=0.8, ratio=1.0)

    n = sample_size_per_variant_means(std, mde)

    assert n == math.ceil(reference) or n == math.ceil(reference) - 1  # other tail adds ~1e-9 power
    assert n <= math.ceil(t_reference)  # the t-test needs at most one more unit at these sizes
    assert minimum_detectable_effect_means(std, n) == pytest.approx(mde, rel=2 / n + 1e-9)


def test_progress_to_planned_sample__fraction__may_exceed_one():
    assert progress_to_planned_sample(250, 1000) == 0.25
    assert progress_to_planned_sample(1500, 1000) == 1.5


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda: sample_size_per_variant(1.2, 0.1), id="baseline-above-one"),
        pytest.param(lambda: sample_size_per_variant(0.1, 0.01, power=1.0), id="power-one"),
        pytest.param(lambda: sample_size_per_variant_means(-1.0, 0.1), id="negative-std"),
    ],
)
def test_power_helpers__malformed_input__raise_value_error(call):
    with pytest.raises(ValueError):
        call()
