"""Holm and Benjamini–Hochberg adjustment against statsmodels and hand-worked examples."""

import itertools

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from statsmodels.stats.multitest import multipletests

from experiments.stats import adjust_p_values

RAW = [0.01, 0.04, 0.03, 0.005]


@pytest.mark.parametrize(
    "method, expected",
    [
        # Holm: sorted p × (m, m-1, ...) = 0.02, 0.03, 0.06, 0.04 → running max → back to input order.
        pytest.param("holm", [0.03, 0.06, 0.06, 0.02], id="holm"),
        # BH: sorted p × m / rank = 0.02, 0.02, 0.04, 0.04 → running min from the top.
        pytest.param("bh", [0.02, 0.04, 0.04, 0.02], id="bh"),
        pytest.param("fdr_bh", [0.02, 0.04, 0.04, 0.02], id="fdr-bh-alias"),
    ],
)
def test_adjust_p_values__worked_example__matches_hand_computation(method, expected):
    assert adjust_p_values(RAW, method) == pytest.approx(expected)


@pytest.mark.parametrize("method, sm_method", [("holm", "holm"), ("bh", "fdr_bh")], ids=["holm", "bh"])
def test_adjust_p_values__unsorted_input__matches_statsmodels_named_method(method, sm_method):
    raw = [0.2, 0.001, 0.049, 0.6, 0.012, 0.03, 0.9, 0.0004]

    assert adjust_p_values(raw, method) == pytest.approx(list(multipletests(raw, method=sm_method)[1]))


def test_adjust_p_values__holm__differs_from_statsmodels_default_holm_sidak():
    raw = [0.01, 0.02, 0.03]

    assert adjust_p_values(raw, "holm") != pytest.approx(list(multipletests(raw)[1]))


def test_adjust_p_values__none_entries__pass_through_and_do_not_count():
    assert adjust_p_values([0.01, None, 0.04, None], "holm") == pytest.approx([0.02, None, 0.04, None])
    assert adjust_p_values([None, None], "bh") == [None, None]
    assert adjust_p_values([], "bh") == []


@pytest.mark.parametrize("bad", [[0.5, 1.2], [-0.1], [float("nan")]], ids=["above-one", "negative", "nan"])
def test_adjust_p_values__p_outside_unit_interval__raises_value_error(bad):
    with pytest.raises(ValueError):
        adjust_p_values(bad, "holm")


def test_adjust_p_values__unknown_method__raises_value_error():
    with pytest.raises(ValueError, match="method"):
        adjust_p_values([0.1], "bonferroni-ish")


@given(st.lists(st.floats(0, 1), min_size=1, max_size=30))
def test_adjust_p_values__any_input__adjusted_in_range_above_raw_and_bh_below_holm(raw):
    holm = adjust_p_values(raw, "holm")
    bh = adjust_p_values(raw, "bh")

    for p, h, b in zip(raw, holm, bh, strict=True):
        assert p - 1e-12 <= b <= h + 1e-12 <= 1 + 1e-12
    # Order-preserving: a smaller raw p never gets a larger adjusted p.
    ranked = sorted(range(len(raw)), key=raw.__getitem__)
    assert all(holm[i] <= holm[j] + 1e-12 for i, j in itertools.pairwise(ranked))


@pytest.mark.parametrize("method, sm_method", [("holm", "holm"), ("bh", "fdr_bh")], ids=["holm", "bh"])
@pytest.mark.parametrize("seed", [1, 2, 3], ids=["seed-1", "seed-2", "seed-3"])
def test_adjust_p_values__random_inputs_with_ties__match_statsmodels(method, sm_method, seed):
    rng = np.random.default_rng(seed)
    raw = list(np.round(rng.beta(0.5, 2.0, 40), 3))  # rounding creates ties

    assert adjust_p_values(raw, method) == pytest.approx(
        list(multipletests(raw, method=sm_method)[1]), abs=1e-15
    )
