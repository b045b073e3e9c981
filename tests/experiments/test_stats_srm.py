"""Sample-ratio-mismatch check against scipy's chi-square goodness of fit."""

import pytest
from scipy import stats

from experiments.stats import srm_check, srm_p_value


@pytest.mark.parametrize(
    "observed, weights",
    [
        pytest.param([5000, 5100], [1, 1], id="fifty-fifty"),
        pytest.param([2030, 7970], [0.2, 0.8], id="twenty-eighty"),
        pytest.param([3400, 3300, 3350], [1, 1, 1], id="three-way"),
        pytest.param([48, 52], [50, 50], id="weights-not-normalised"),
    ],
)
def test_srm_p_value__observed_counts__matches_scipy_chisquare(observed, weights):
    expected = [sum(observed) * w / sum(weights) for w in weights]

    assert srm_p_value(observed, weights) == pytest.approx(
        stats.chisquare(observed, f_exp=expected).pvalue, rel=1e-12
    )


def test_srm_check__clear_mismatch__flagged_below_threshold():
    check = srm_check([10000, 10600], [1, 1])

    assert check.p_value < 0.001 and check.flagged
    assert check.expected == (10300.0, 10300.0)
    assert check.observed == (10000, 10600)
    assert check.df == 1


def test_srm_check__exact_split__p_one_not_flagged():
    check = srm_check([2500, 7500], [0.25, 0.75])

    assert check.p_value == pytest.approx(1.0)
    assert not check.flagged


def test_srm_check__mild_imbalance__not_flagged_at_default_but_flagged_at_loose_threshold():
    observed = [5000, 5150]

    assert not srm_check(observed, [1, 1]).flagged
    assert srm_check(observed, [1, 1], threshold=0.2).flagged


def test_srm_check__no_units__p_none_not_flagged():
    check = srm_check([0, 0], [1, 1])

    assert check.p_value is None and not check.flagged
    assert check.warnings


def test_srm_check__units_in_zero_weight_variant__certain_mismatch():
    check = srm_check([100, 95, 3], [1, 1, 0])

    assert check.p_value == 0.0 and check.flagged


def test_srm_check__empty_zero_weight_variant__left_out_of_test():
    check = srm_check([100, 95, 0], [1, 1, 0])

    assert check.p_value == pytest.approx(stats.chisquare([100, 95]).pvalue)
    assert check.df == 1


def test_srm_check__single_variant__p_none():
    assert srm_check([100], [1]).p_value is None


@pytest.mark.parametrize(
    "observed, weights",
    [
        pytest.param([1, 2], [1], id="length-mismatch"),
        pytest.param([1, -2], [1, 1], id="negative-count"),
        pytest.param([1, 2], [0, 0], id="zero-weights"),
        pytest.param([1, 2], [1, -1], id="negative-weight"),
    ],
)
def test_srm_check__malformed_input__raises_value_error(observed, weights):
    with pytest.raises(ValueError):
        srm_check(observed, weights)
