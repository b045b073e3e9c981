"""compare_proportions against statsmodels/scipy and closed forms, plus degenerate inputs."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats import proportion as sm_proportion

from experiments.stats import compare_proportions, sequential_ci_half_width

Z95 = stats.norm.ppf(0.975)

TYPICAL = [
    pytest.param(1000, 100, 1000, 120, id="10pct-vs-12pct"),
    pytest.param(5000, 250, 4800, 200, id="unequal-arms-negative-lift"),
    pytest.param(200, 37, 210, 61, id="small-arms-large-lift"),
    pytest.param(120000, 3600, 119000, 3712, id="large-arms-small-lift"),
]


@pytest.mark.parametrize("n_c, x_c, n_t, x_t", TYPICAL)
def test_compare_proportions__typical_counts__p_value_matches_statsmodels_wald_test(n_c, x_c, n_t, x_t):
    result = compare_proportions(n_c, x_c, n_t, x_t)

    reference = sm_proportion.test_proportions_2indep(x_t, n_t, x_c, n_c, method="wald", compare="diff")
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-10)
    assert result.z_statistic == pytest.approx(reference.statistic, rel=1e-10)
    assert result.abs_diff == pytest.approx(reference.diff, rel=1e-12)
    assert result.abs_diff_se == pytest.approx(math.sqrt(reference.variance), rel=1e-12)


@pytest.mark.parametrize("n_c, x_c, n_t, x_t", TYPICAL)
def test_compare_proportions__typical_counts__ci_matches_statsmodels_wald_interval(n_c, x_c, n_t, x_t):
    result = compare_proportions(n_c, x_c, n_t, x_t, alpha=0.1)

    low, high = sm_proportion.confint_proportions_2indep(
        x_t, n_t, x_c, n_c, method="wald", compare="diff", alpha=0.1
    )
    assert result.abs_diff_ci == pytest.approx((low, high), rel=1e-10)
    assert result.control_rate == x_c / n_c
    assert result.treatment_rate == x_t / n_t


@pytest.mark.parametrize("n_c, x_c, n_t, x_t", TYPICAL)
def test_compare_proportions__typical_counts__relative_ci_is_delta_method_on_ratio(n_c, x_c, n_t, x_t):
    result = compare_proportions(n_c, x_c, n_t, x_t)

    # Given the gradient of g(pT, pC) = pT / pC - 1 and independent binomial variances
    p_c, p_t = x_c / n_c, x_t / n_t
    grad = (1 / p_c, -p_t / p_c**2)
    variance = grad[0] ** 2 * p_t * (1 - p_t) / n_t + grad[1] ** 2 * p_c * (1 - p_c) / n_c
    rel = p_t / p_c - 1
    assert result.rel_lift == pytest.approx(rel, rel=1e-12)
    assert result.rel_lift_ci == pytest.approx(
        (rel - Z95 * math.sqrt(variance), rel + Z95 * math.sqrt(variance)), rel=1e-10
    )


def test_compare_proportions__large_arms__relative_ci_close_to_statsmodels_log_ratio_interval():
    result = compare_proportions(200000, 20000, 200000, 21000)

    low, high = sm_proportion.confint_proportions_2indep(
        21000, 200000, 20000, 200000, method="log", compare="ratio"
    )
    assert result.rel_lift_ci == pytest.approx((low - 1, high - 1), abs=2e-4)


@pytest.mark.parametrize("n_c, x_c, n_t, x_t", TYPICAL)
def test_compare_proportions__typical_counts__fisher_matches_scipy(n_c, x_c, n_t, x_t):
    result = compare_proportions(n_c, x_c, n_t, x_t)

    reference = stats.fisher_exact([[x_t, n_t - x_t], [x_c, n_c - x_c]], alternative="two-sided").pvalue
    assert result.fisher_p_value == pytest.approx(reference, rel=1e-12)


@settings(max_examples=200, deadline=None)
@given(
    n_c=st.integers(2, 5000),
    n_t=st.integers(2, 5000),
    share_c=st.floats(0, 1),
    share_t=st.floats(0, 1),
    alpha=st.sampled_from([0.01, 0.05, 0.1]),
)
def test_compare_proportions__any_counts__p_value_and_ci_agree_on_significance(
    n_c, n_t, share_c, share_t, alpha
):
    result = compare_proportions(
        n_c, round(share_c * n_c), n_t, round(share_t * n_t), alpha=alpha, fisher=False
    )

    if result.p_value is None:
        assert result.abs_diff_ci is None and not result.significant
    else:
        low, high = result.abs_diff_ci
        excludes_zero = low > 0 or high < 0
        # Both come from the same z and SE; only exact ties could differ.
        if abs(abs(result.z_statistic) - stats.norm.ppf(1 - alpha / 2)) > 1e-9:
            assert result.significant == excludes_zero
        assert 0 <= result.p_value <= 1


def test_compare_proportions__sequential_fields__use_half_width_over_both_arms():
    result = compare_proportions(4000, 400, 4100, 460)

    half = sequential_ci_half_width(result.abs_diff_se, 4000 + 4100, 0.05, 5000)
    assert result.seq_abs_diff_ci == pytest.approx((result.abs_diff - half, result.abs_diff + half))
    assert result.seq_abs_diff_ci[0] < result.abs_diff_ci[0]
    assert result.seq_p_value >= result.p_value


# --- degenerate inputs -------------------------------------------------------------------


def test_compare_proportions__zero_traffic__everything_none_without_crash():
    result = compare_proportions(0, 0, 0, 0)

    assert result.control_rate is None and result.treatment_rate is None
    assert result.p_value is None and result.abs_diff is None and result.fisher_p_value is None
    assert result.chance_to_beat_control is None
    assert result.significant is False and result.seq_significant is False
    assert any("control arm has no users" in w for w in result.warnings)
    assert any("treatment arm has no users" in w for w in result.warnings)


def test_compare_proportions__one_arm_empty__other_rate_reported_p_none():
    result = compare_proportions(1000, 50, 0, 0)

    assert result.control_rate == 0.05
    assert result.treatment_rate is None
    assert result.p_value is None and result.abs_diff_ci is None and result.rel_lift is None
    assert any("treatment arm has no users" in w for w in result.warnings)


def test_compare_proportions__control_rate_zero__relative_none_fisher_computed_and_warned():
    result = compare_proportions(2000, 0, 2000, 9, fisher=False)

    assert result.rel_lift is None and result.rel_lift_ci is None and result.seq_rel_lift_ci is None
    assert result.abs_diff == pytest.approx(9 / 2000)
    assert result.abs_diff_ci is not None and result.p_value is not None
    assert result.fisher_p_value == pytest.approx(stats.fisher_exact([[9, 1991], [0, 2000]]).pvalue)
    assert any("relative lift is undefined" in w for w in result.warnings)
    assert any("normal approximation is unreliable" in w and "Fisher" in w for w in result.warnings)


@pytest.mark.parametrize(
    "n_c, x_c, n_t, x_t",
    [
        pytest.param(500, 0, 700, 0, id="both-rates-zero"),
        pytest.param(500, 500, 700, 700, id="both-rates-one"),
        pytest.param(1, 0, 1, 1, id="one-user-each"),
    ],
)
def test_compare_proportions__zero_variance__p_value_none_and_fisher_reported(n_c, x_c, n_t, x_t):
    result = compare_proportions(n_c, x_c, n_t, x_t)

    assert result.p_value is None and result.abs_diff_ci is None and result.seq_p_value is None
    assert result.significant is False
    assert result.fisher_p_value == pytest.approx(
        stats.fisher_exact([[x_t, n_t - x_t], [x_c, n_c - x_c]]).pvalue
    )
    assert any("zero variance" in w for w in result.warnings)
    assert 0 <= result.chance_to_beat_control <= 1


def test_compare_proportions__both_rates_zero__fisher_is_one_and_bayes_symmetric():
    result = compare_proportions(800, 0, 800, 0)

    assert result.fisher_p_value == 1.0
    assert result.chance_to_beat_control == pytest.approx(0.5, abs=1e-9)
    assert result.expected_loss_control == pytest.approx(result.expected_loss_treatment, rel=1e-9)


def test_compare_proportions__large_counts_fisher_off__fisher_none():
    result = compare_proportions(10000, 1000, 10000, 1100, fisher=False)

    assert result.fisher_p_value is None
    assert result.p_value is not None


@pytest.mark.parametrize(
    "args",
    [
        pytest.param((100, 101, 100, 5), id="conversions-exceed-users"),
        pytest.param((-1, 0, 100, 5), id="negative-users"),
        pytest.param((100.5, 3, 100, 5), id="fractional-users"),
    ],
)
def test_compare_proportions__malformed_counts__raise_value_error(args):
    with pytest.raises(ValueError):
        compare_proportions(*args)


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5], ids=["zero", "one", "negative", "above-one"])
def test_compare_proportions__alpha_out_of_range__raises_value_error(alpha):
    with pytest.raises(ValueError):
        compare_proportions(100, 10, 100, 12, alpha=alpha)


def test_compare_proportions__treatment_rate_zero__relative_lift_minus_one_interval_none_with_warning():
    result = compare_proportions(3000, 60, 3000, 0, fisher=False)

    assert result.rel_lift == -1.0
    assert result.rel_lift_ci is None and result.seq_rel_lift_ci is None
    assert result.p_value is not None and result.fisher_p_value is not None
    assert any("relative-lift interval is undefined" in w for w in result.warnings)
