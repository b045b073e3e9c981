"""The public surface: every export exists, results are frozen and serialise to JSON."""

import dataclasses
import json

import pytest

import experiments.stats as stats_api
from experiments.stats import (
    compare_means,
    compare_means_cuped,
    compare_proportions,
    compare_proportions_by_cluster,
    kaplan_meier,
    logrank_test,
    srm_check,
)

ARM = {"n": 50, "sum_y": 100.0, "sum_y2": 260.0, "sum_x": 90.0, "sum_x2": 200.0, "sum_xy": 210.0}

RESULTS = [
    pytest.param(lambda: compare_proportions(1000, 100, 1000, 120), id="proportions"),
    pytest.param(lambda: compare_proportions(0, 0, 1000, 0), id="proportions-degenerate"),
    pytest.param(lambda: compare_means(100, 250.0, 900.0, 110, 300.0, 1100.0), id="means"),
    pytest.param(lambda: compare_means_cuped(ARM, {**ARM, "sum_y": 110.0, "sum_y2": 300.0}), id="cuped"),
    pytest.param(
        lambda: compare_proportions_by_cluster([(5, 1), (6, 2), (4, 0)], [(5, 2), (7, 3)]), id="clustered"
    ),
    pytest.param(lambda: srm_check([100, 104], [1, 1]), id="srm"),
    pytest.param(lambda: kaplan_meier([1, 2, 3, 4], [1, 0, 1, 1]), id="kaplan-meier"),
    pytest.param(lambda: logrank_test([[1, 2, 3], [2, 4, 6]], [[1, 1, 0], [1, 0, 1]]), id="logrank"),
]


def _leaves(value):
    if isinstance(value, dict):
        for item in value.values():
            yield from _leaves(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _leaves(item)
    else:
        yield value


def test_stats_package__all__exports_resolve():
    missing = [name for name in stats_api.__all__ if not hasattr(stats_api, name)]

    assert missing == []


@pytest.mark.parametrize("make", RESULTS)
def test_stats_results__any_function__serialise_to_json_with_builtin_numbers(make):
    result = make()

    text = json.dumps(dataclasses.asdict(result), allow_nan=False)

    assert json.loads(text)["method"] == result.method
    assert result.method  # every result names its method
    # Builtins only: numpy scalars would leak into snapshots and templates.
    assert {type(leaf) for leaf in _leaves(dataclasses.asdict(result))} <= {float, int, str, bool, type(None)}


@pytest.mark.parametrize("make", RESULTS)
def test_stats_results__any_function__frozen(make):
    result = make()

    with pytest.raises(dataclasses.FrozenInstanceError):
        result.method = "changed"
