"""Cluster-robust comparisons from per-account sums against statsmodels OLS on expanded data."""

import numpy as np
import pytest
import statsmodels.api as sm

from experiments.stats import compare_means_by_cluster, compare_proportions_by_cluster


def _accounts(seed, n_accounts, binary):
    """Per-user rows for accounts of random size with an account-level random effect."""
    rng = np.random.default_rng(seed)
    y, treatment, account = [], [], []
    for k in range(n_accounts):
        size = int(rng.integers(1, 25))
        arm = int(rng.integers(0, 2))
        if binary:
            rate = np.clip(rng.beta(2, 8) + 0.03 * arm, 0, 1)
            values = rng.binomial(1, rate, size).astype(float)
        else:
            values = rng.gamma(2.0, 1.0 + rng.normal(0, 0.3) ** 2, size) + 0.2 * arm
        y.extend(values)
        treatment.extend([arm] * size)
        account.extend([k] * size)
    return np.array(y), np.array(treatment, dtype=float), np.array(account)


def _per_account(y, treatment, account, arm):
    rows = []
    for k in np.unique(account[treatment == arm]):
        mask = account == k
        rows.append((int(mask.sum()), float(y[mask].sum())))
    return rows


def _statsmodels_reference(y, treatment, account, alpha):
    fit = sm.OLS(y, sm.add_constant(treatment)).fit(
        cov_type="cluster", cov_kwds={"groups": account}, use_t=True
    )
    return fit.params[1], fit.bse[1], fit.pvalues[1], tuple(fit.conf_int(alpha=alpha)[1])


@pytest.mark.parametrize(
    "seed, n_accounts, binary",
    [
        pytest.param(1, 40, True, id="conversions-40-accounts"),
        pytest.param(2, 300, True, id="conversions-300-accounts"),
        pytest.param(3, 60, False, id="continuous-60-accounts"),
        pytest.param(4, 8, False, id="continuous-8-accounts"),
    ],
)
def test_compare_means_by_cluster__per_account_sums__equal_statsmodels_cluster_ols(seed, n_accounts, binary):
    y, treatment, account = _accounts(seed, n_accounts, binary)

    result = compare_means_by_cluster(
        _per_account(y, treatment, account, 0), _per_account(y, treatment, account, 1), alpha=0.1
    )

    coefficient, se, p_value, ci = _statsmodels_reference(y, treatment, account, alpha=0.1)
    assert result.abs_diff == pytest.approx(coefficient, rel=1e-9)
    assert result.abs_diff_se == pytest.approx(se, rel=1e-9)
    assert result.p_value == pytest.approx(p_value, rel=1e-8)
    assert result.abs_diff_ci == pytest.approx(ci, rel=1e-8)
    assert result.df == len(np.unique(account)) - 1
    assert result.method == "OLS with cluster-robust SE (CR1) by account"


def test_compare_proportions_by_cluster__per_account_counts__equal_statsmodels_and_report_rates():
    y, treatment, account = _accounts(9, 120, binary=True)
    control = [(n, int(s)) for n, s in _per_account(y, treatment, account, 0)]
    exposed = [(n, int(s)) for n, s in _per_account(y, treatment, account, 1)]

    result = compare_proportions_by_cluster(control, exposed)

    coefficient, _, p_value, _ = _statsmodels_reference(y, treatment, account, alpha=0.05)
    assert result.abs_diff == pytest.approx(coefficient, rel=1e-9)
    assert result.p_value == pytest.approx(p_value, rel=1e-8)
    assert result.control_mean == pytest.approx(y[treatment == 0].mean())
    assert result.control_units + result.treatment_units == len(y)


def test_compare_proportions_by_cluster__correlated_accounts__se_wider_than_naive_binomial():
    # Given whole accounts that either all convert or none do
    control = [(10, 10)] * 5 + [(10, 0)] * 15
    exposed = [(10, 10)] * 7 + [(10, 0)] * 13

    result = compare_proportions_by_cluster(control, exposed)

    p_c, p_t = 0.25, 0.35
    naive_se = np.sqrt(p_c * (1 - p_c) / 200 + p_t * (1 - p_t) / 200)
    assert result.abs_diff == pytest.approx(0.10)
    assert result.abs_diff_se > 2.5 * naive_se


@pytest.mark.parametrize(
    "control, exposed, warning",
    [
        pytest.param([], [], "no units", id="zero-traffic"),
        pytest.param([(10, 2)], [(10, 3), (5, 1)], "at least two accounts", id="one-control-account"),
        pytest.param([(10, 0), (8, 0)], [(9, 0), (7, 0)], "zero variance", id="no-conversions"),
        pytest.param([(0, 0), (0, 0)], [(9, 1), (7, 2)], "no units", id="control-accounts-without-users"),
        # 30 × 0.1 is 3.0000000000000004 in floating point: residual noise must not become an SE.
        pytest.param([(10, 1), (20, 2), (30, 3)], [(10, 1), (30, 3)], "zero variance", id="identical-rates"),
    ],
)
def test_compare_proportions_by_cluster__degenerate__p_value_none_with_warning(control, exposed, warning):
    result = compare_proportions_by_cluster(control, exposed)

    assert result.p_value is None and result.abs_diff_ci is None and result.significant is False
    assert any(warning in w for w in result.warnings)


def test_compare_proportions_by_cluster__control_rate_zero__relative_none():
    result = compare_proportions_by_cluster([(10, 0), (12, 0), (9, 0)], [(10, 1), (11, 3), (8, 0)])

    assert result.rel_lift is None and result.rel_lift_ci is None
    assert result.p_value is not None


def test_compare_proportions_by_cluster__more_conversions_than_users__raises_value_error():
    with pytest.raises(ValueError):
        compare_proportions_by_cluster([(3, 4), (2, 1)], [(3, 1), (2, 1)])
