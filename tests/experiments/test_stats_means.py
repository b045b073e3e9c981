"""compare_means (Welch) against scipy/statsmodels on raw data, plus degenerate inputs."""

import math

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats import weightstats

from experiments.stats import compare_means


def _sums(values):
    values = np.asarray(values, dtype=float)
    return len(values), float(values.sum()), float((values**2).sum())


def _samples(seed, n_c, n_t, scale_c, scale_t, shift):
    rng = np.random.default_rng(seed)
    return rng.exponential(scale_c, n_c), rng.exponential(scale_t, n_t) + shift


SAMPLES = [
    pytest.param(1, 40, 60, 2.0, 5.0, 0.5, id="small-unequal-variances"),
    pytest.param(2, 500, 480, 3.0, 3.0, 0.0, id="null-effect"),
    pytest.param(3, 3000, 2500, 1.0, 1.5, 0.1, id="large-arms"),
]


@pytest.mark.parametrize("seed, n_c, n_t, scale_c, scale_t, shift", SAMPLES)
def test_compare_means__summary_stats__match_scipy_welch_from_stats(seed, n_c, n_t, scale_c, scale_t, shift):
    control, treatment = _samples(seed, n_c, n_t, scale_c, scale_t, shift)

    result = compare_means(*_sums(control), *_sums(treatment))

    reference = stats.ttest_ind_from_stats(
        treatment.mean(),
        treatment.std(ddof=1),
        n_t,
        control.mean(),
        control.std(ddof=1),
        n_c,
        equal_var=False,
    )
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-8)
    assert result.t_statistic == pytest.approx(reference.statistic, rel=1e-8)
    assert result.control_mean == pytest.approx(control.mean(), rel=1e-12)
    assert result.treatment_variance == pytest.approx(treatment.var(ddof=1), rel=1e-9)


@pytest.mark.parametrize("seed, n_c, n_t, scale_c, scale_t, shift", SAMPLES)
def test_compare_means__summary_stats__df_and_ci_match_statsmodels_unequal_variances(
    seed, n_c, n_t, scale_c, scale_t, shift
):
    control, treatment = _samples(seed, n_c, n_t, scale_c, scale_t, shift)

    result = compare_means(*_sums(control), *_sums(treatment), alpha=0.1)

    _, _, df = weightstats.ttest_ind(treatment, control, usevar="unequal")
    low, high = weightstats.CompareMeans.from_data(treatment, control).tconfint_diff(
        alpha=0.1, usevar="unequal"
    )
    assert result.df == pytest.approx(df, rel=1e-8)
    assert result.abs_diff_ci == pytest.approx((low, high), rel=1e-8)


def test_compare_means__fixed_summaries__relative_ci_is_delta_method_with_t_critical_value():
    result = compare_means(400, 1200.0, 6000.0, 420, 1386.0, 7300.0)

    mean_c, mean_t = 3.0, 1386.0 / 420
    var_c = (6000.0 - 1200.0**2 / 400) / 399
    var_t = (7300.0 - 1386.0**2 / 420) / 419
    rel = mean_t / mean_c - 1
    rel_se = math.sqrt(var_t / 420 / mean_c**2 + mean_t**2 * var_c / 400 / mean_c**4)
    t_crit = stats.t.ppf(0.975, result.df)
    assert result.rel_lift == pytest.approx(rel)
    assert result.rel_lift_ci == pytest.approx((rel - t_crit * rel_se, rel + t_crit * rel_se), rel=1e-10)
    assert result.chance_to_beat_control == pytest.approx(stats.norm.cdf(result.t_statistic), rel=1e-12)


@pytest.mark.parametrize(
    "args, missing",
    [
        pytest.param((0, 0.0, 0.0, 0, 0.0, 0.0), "no units", id="zero-traffic"),
        pytest.param((0, 0.0, 0.0, 50, 20.0, 30.0), "no units", id="control-empty"),
        pytest.param((1, 3.0, 9.0, 50, 20.0, 30.0), "single unit", id="control-n-1"),
        pytest.param((30, 60.0, 120.0, 40, 80.0, 160.0), "zero variance", id="both-constant"),
    ],
)
def test_compare_means__degenerate_arms__p_value_none_with_warning(args, missing):
    result = compare_means(*args)

    assert result.p_value is None and result.abs_diff_ci is None and result.seq_p_value is None
    assert result.significant is False
    assert any(missing in w for w in result.warnings)


def test_compare_means__n_one_each__means_reported_and_no_crash():
    result = compare_means(1, 2.0, 4.0, 1, 5.0, 25.0)

    assert result.abs_diff == 3.0
    assert result.control_variance is None and result.p_value is None


def test_compare_means__one_arm_constant__welch_still_defined():
    result = compare_means(30, 60.0, 120.0, *_sums(np.arange(40.0)))

    assert result.control_variance == 0.0
    assert result.p_value is not None
    assert result.df == pytest.approx(39.0)


def test_compare_means__control_mean_zero__relative_none_absolute_reported():
    result = compare_means(*_sums([-1.0, 1.0, -2.0, 2.0]), *_sums([0.5, 1.5, 1.0, 2.0]))

    assert result.rel_lift is None and result.rel_lift_ci is None
    assert result.abs_diff == pytest.approx(1.25)
    assert result.p_value is not None
    assert any("control mean is 0" in w for w in result.warnings)


@pytest.mark.parametrize("value", [0.1, 1e6 + 0.3, 7.0], ids=["point-one", "large", "integer"])
def test_compare_means__constant_arms_with_rounding_noise__variance_exactly_zero(value):
    # Σy² - (Σy)²/n of a constant is rounding noise (e.g. 1.7e-18 for 0.1): it must not become a
    # tiny standard error that makes any difference "significant".
    result = compare_means(*_sums(np.full(30, value)), *_sums(np.full(40, value + 0.5)))

    assert result.control_variance == 0.0 and result.treatment_variance == 0.0
    assert result.p_value is None


def test_compare_means__malformed_input__raises_value_error():
    with pytest.raises(ValueError):
        compare_means(-2, 1.0, 1.0, 3, 1.0, 1.0)
    with pytest.raises(ValueError):
        compare_means(2, float("nan"), 1.0, 3, 1.0, 1.0)
