"""CUPED against the ANCOVA regression and a Welch test on per-unit adjusted values."""

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats

from experiments.stats import compare_means, compare_means_cuped


def _arm_sums(y, x):
    return {
        "n": len(y),
        "sum_y": float(y.sum()),
        "sum_y2": float((y**2).sum()),
        "sum_x": float(x.sum()),
        "sum_x2": float((x**2).sum()),
        "sum_xy": float((x * y).sum()),
    }


def _experiment(seed, n_c=800, n_t=900, effect=0.3, slope=0.8):
    rng = np.random.default_rng(seed)
    x_c, x_t = rng.gamma(2.0, 2.0, n_c), rng.gamma(2.0, 2.0, n_t)
    y_c = 1.0 + slope * x_c + rng.normal(0, 1.5, n_c)
    y_t = 1.0 + effect + slope * x_t + rng.normal(0, 1.5, n_t)
    return (y_c, x_c), (y_t, x_t)


@pytest.mark.parametrize("seed", [11, 12, 13], ids=["seed-11", "seed-12", "seed-13"])
def test_compare_means_cuped__correlated_data__theta_and_diff_equal_ancova_coefficients(seed):
    (y_c, x_c), (y_t, x_t) = _experiment(seed)

    result = compare_means_cuped(_arm_sums(y_c, x_c), _arm_sums(y_t, x_t))

    y = np.concatenate([y_c, y_t])
    treatment = np.concatenate([np.zeros(len(y_c)), np.ones(len(y_t))])
    x = np.concatenate([x_c, x_t])
    fit = sm.OLS(y, sm.add_constant(np.column_stack([treatment, x]))).fit()
    assert result.theta == pytest.approx(fit.params[2], rel=1e-9)
    assert result.abs_diff == pytest.approx(fit.params[1], rel=1e-9)
    # Welch SE and the homoskedastic OLS SE agree closely at these sizes.
    assert result.abs_diff_se == pytest.approx(fit.bse[1], rel=0.05)


@pytest.mark.parametrize("seed", [21, 22], ids=["seed-21", "seed-22"])
def test_compare_means_cuped__correlated_data__p_value_equals_welch_on_adjusted_units(seed):
    (y_c, x_c), (y_t, x_t) = _experiment(seed)

    result = compare_means_cuped(_arm_sums(y_c, x_c), _arm_sums(y_t, x_t))

    x_bar = np.concatenate([x_c, x_t]).mean()
    adj_c = y_c - result.theta * (x_c - x_bar)
    adj_t = y_t - result.theta * (x_t - x_bar)
    reference = stats.ttest_ind(adj_t, adj_c, equal_var=False)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-7)
    assert result.control_mean == pytest.approx(adj_c.mean(), rel=1e-10)
    assert result.treatment_mean == pytest.approx(adj_t.mean(), rel=1e-10)
    assert result.rel_lift == pytest.approx(adj_t.mean() / adj_c.mean() - 1, rel=1e-9)


def test_compare_means_cuped__correlated_data__variance_reduced_and_unadjusted_attached():
    (y_c, x_c), (y_t, x_t) = _experiment(31)
    control, treatment = _arm_sums(y_c, x_c), _arm_sums(y_t, x_t)

    result = compare_means_cuped(control, treatment)

    plain = compare_means(
        control["n"],
        control["sum_y"],
        control["sum_y2"],
        treatment["n"],
        treatment["sum_y"],
        treatment["sum_y2"],
    )
    assert result.unadjusted == plain
    assert result.variance_reduction == pytest.approx(1 - result.abs_diff_se**2 / plain.abs_diff_se**2)
    # Expected reduction is the squared correlation of x and y, about 0.6 here.
    corr = np.corrcoef(np.concatenate([x_c, x_t]), np.concatenate([y_c, y_t]))[0, 1]
    assert result.variance_reduction == pytest.approx(corr**2, abs=0.05)
    assert result.abs_diff_ci[1] - result.abs_diff_ci[0] < plain.abs_diff_ci[1] - plain.abs_diff_ci[0]


def test_compare_means_cuped__covariate_constant__theta_zero_and_equals_unadjusted():
    rng = np.random.default_rng(5)
    y_c, y_t = rng.normal(5, 1, 300), rng.normal(5.2, 1, 320)

    result = compare_means_cuped(_arm_sums(y_c, np.full(300, 3.0)), _arm_sums(y_t, np.full(320, 3.0)))

    assert result.theta == 0.0
    assert result.abs_diff == pytest.approx(result.unadjusted.abs_diff, rel=1e-12)
    assert result.p_value == pytest.approx(result.unadjusted.p_value, rel=1e-9)
    assert result.variance_reduction == pytest.approx(0.0, abs=1e-9)
    assert any("no variance" in w for w in result.warnings)


def test_compare_means_cuped__no_history_for_anyone__theta_zero_with_warning():
    rng = np.random.default_rng(6)
    y_c, y_t = rng.poisson(2, 200).astype(float), rng.poisson(2, 200).astype(float)

    result = compare_means_cuped(_arm_sums(y_c, np.zeros(200)), _arm_sums(y_t, np.zeros(200)))

    assert result.theta == 0.0 and result.p_value == pytest.approx(result.unadjusted.p_value)


@pytest.mark.parametrize(
    "n_c, n_t",
    [
        pytest.param(0, 0, id="zero-traffic"),
        pytest.param(1, 50, id="control-n-1"),
        pytest.param(50, 0, id="treatment-empty"),
    ],
)
def test_compare_means_cuped__too_few_units__none_without_crash(n_c, n_t):
    rng = np.random.default_rng(7)
    arm = lambda n: _arm_sums(rng.normal(size=n), rng.normal(size=n))  # noqa: E731

    result = compare_means_cuped(arm(n_c), arm(n_t))

    assert result.theta is None and result.p_value is None and result.variance_reduction is None
    assert result.warnings


def test_compare_means_cuped__missing_sum__raises_value_error():
    with pytest.raises(ValueError, match="sum_xy"):
        compare_means_cuped(
            {"n": 3, "sum_y": 1, "sum_y2": 1, "sum_x": 1, "sum_x2": 1},
            {"n": 3, "sum_y": 1, "sum_y2": 1, "sum_x": 1, "sum_x2": 1, "sum_xy": 1},
        )
