"""Kaplan–Meier and log-rank against hand-computed product-limit and log-rank statistics."""

import math

import numpy as np
import pytest
from scipy import stats

from experiments.stats import kaplan_meier, logrank_test

DURATIONS = [1, 2, 2, 3, 4, 5, 5, 6, 8, 9]
EVENTS = [1, 1, 0, 1, 1, 0, 1, 1, 0, 1]


def _product_limit(durations, events):
    """Kaplan–Meier S(t) and Greenwood variance written out from the definition."""
    durations, events = np.asarray(durations, float), np.asarray(events, int)
    s, greenwood, rows = 1.0, 0.0, []
    for t in np.unique(durations[events == 1]):
        at_risk = np.sum(durations >= t)
        deaths = np.sum((durations == t) & (events == 1))
        s *= 1 - deaths / at_risk
        if at_risk > deaths:
            greenwood += deaths / (at_risk * (at_risk - deaths))
        rows.append((t, s, s * math.sqrt(greenwood)))
    return rows


def _logrank(groups):
    """k-group log-rank chi-square: (O - E)' V⁻¹ (O - E) over the first k - 1 groups."""
    k = len(groups)
    all_t = np.concatenate([np.asarray(d, float) for d, _ in groups])
    all_e = np.concatenate([np.asarray(e, int) for _, e in groups])
    o_minus_e, v = np.zeros(k), np.zeros((k, k))
    for t in np.unique(all_t[all_e == 1]):
        n_j = np.array([np.sum(np.asarray(d) >= t) for d, _ in groups], float)
        d_j = np.array([np.sum((np.asarray(d) == t) & (np.asarray(e) == 1)) for d, e in groups], float)
        n, d = n_j.sum(), d_j.sum()
        o_minus_e += d_j - d * n_j / n
        if n > 1:
            factor = d * (n - d) / (n * n * (n - 1))
            v += factor * (np.diag(n_j * n) - np.outer(n_j, n_j))
    chi2 = float(o_minus_e[:-1] @ np.linalg.solve(v[:-1, :-1], o_minus_e[:-1]))
    return chi2, k - 1


def test_kaplan_meier__small_sample__matches_product_limit_and_greenwood():
    result = kaplan_meier(DURATIONS, EVENTS)

    reference = _product_limit(DURATIONS, EVENTS)
    assert result.times == tuple(float(t) for t, _, _ in reference)
    assert result.survival == pytest.approx([s for _, s, _ in reference], rel=1e-12)
    z = stats.norm.ppf(0.975)
    for (low, high), (_, s, se) in zip(result.ci, reference, strict=True):
        if 0 < s < 1:
            half = z * se / (s * abs(math.log(s)))
            assert (low, high) == pytest.approx(
                (
                    math.exp(-math.exp(math.log(-math.log(s)) + half)),
                    math.exp(-math.exp(math.log(-math.log(s)) - half)),
                ),
                rel=1e-10,
            )
            assert 0 < low < s < high < 1
        else:
            assert (low, high) == (None, None)
    assert result.n == 10 and result.n_events == 7


def test_kaplan_meier__small_sample__median_is_first_time_at_or_below_half():
    result = kaplan_meier(DURATIONS, EVENTS)

    first = next(t for t, s, _ in _product_limit(DURATIONS, EVENTS) if s <= 0.5)
    assert result.median == first == 5.0
    assert result.median_ci[0] is not None and result.median_ci[0] <= result.median


def test_kaplan_meier__few_events__median_not_reached_is_none_with_warning():
    result = kaplan_meier([1, 2, 3, 4, 5, 6], [1, 0, 0, 1, 0, 0])

    assert result.median is None
    assert any("median is not reached" in w for w in result.warnings)


@pytest.mark.parametrize(
    "durations, events, warning",
    [
        pytest.param([], [], "No units", id="empty"),
        pytest.param([3, 4, 5], [0, 0, 0], "No events", id="all-censored"),
    ],
)
def test_kaplan_meier__degenerate__empty_curve_with_warning(durations, events, warning):
    result = kaplan_meier(durations, events)

    assert result.times == () and result.median is None
    assert any(warning in w for w in result.warnings)


def test_kaplan_meier__everyone_has_event__last_survival_zero_ci_none():
    result = kaplan_meier([1, 2, 3], [True, True, True])

    assert result.survival[-1] == 0.0
    assert result.ci[-1] == (None, None)


@pytest.mark.parametrize("seed, k", [(1, 2), (2, 3)], ids=["two-groups", "three-groups"])
def test_logrank_test__random_groups__matches_hand_computed_statistic(seed, k):
    rng = np.random.default_rng(seed)
    groups = []
    for g in range(k):
        durations = np.round(rng.exponential(10 + 4 * g, 60))  # rounding creates tied times
        events = (rng.uniform(size=60) < 0.7).astype(int)
        groups.append((list(durations), list(events)))

    result = logrank_test([d for d, _ in groups], [e for _, e in groups])

    chi2, df = _logrank(groups)
    assert result.chi2 == pytest.approx(chi2, rel=1e-9)
    assert result.df == df
    assert result.p_value == pytest.approx(stats.chi2.sf(chi2, df), rel=1e-9)


def test_logrank_test__clearly_different_groups__small_p_value():
    fast = ([1, 1, 2, 2, 3, 3, 4, 4] * 5, [1] * 40)
    slow = ([10, 11, 12, 13, 14, 15, 16, 17] * 5, [1] * 40)

    result = logrank_test([fast[0], slow[0]], [fast[1], slow[1]])

    assert result.p_value < 1e-6


@pytest.mark.parametrize(
    "durations, events, warning",
    [
        pytest.param([[1, 2, 3]], [[1, 0, 1]], "Fewer than two groups", id="one-group"),
        pytest.param([[1, 2, 3], []], [[1, 0, 1], []], "Fewer than two groups", id="empty-second-group"),
        pytest.param([[1, 2], [3, 4]], [[0, 0], [0, 0]], "No events", id="no-events"),
    ],
)
def test_logrank_test__degenerate__p_value_none_with_warning(durations, events, warning):
    result = logrank_test(durations, events)

    assert result.p_value is None and result.chi2 is None
    assert any(warning in w for w in result.warnings)


@pytest.mark.parametrize(
    "durations, events",
    [
        pytest.param([1, 2], [1], id="length-mismatch"),
        pytest.param([1, -2], [1, 1], id="negative-duration"),
        pytest.param([1, 2], [1, 2], id="event-flag-not-binary"),
    ],
)
def test_kaplan_meier__malformed_input__raises_value_error(durations, events):
    with pytest.raises(ValueError):
        kaplan_meier(durations, events)
