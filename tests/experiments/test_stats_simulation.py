"""Seeded simulations: error rates and coverage of the tests as they are used.

Each simulation draws per-arm summaries (not rows) with numpy and runs the public function on
them, so these check the whole path. Fisher's exact test is switched off (fisher=False): it
is irrelevant to these rates and costs ~1 ms per call.
"""

import numpy as np
import pytest

from experiments.stats import compare_means, compare_means_cuped, compare_proportions

ALPHA = 0.05


def test_compare_proportions__aa_simulation__false_positive_rate_near_alpha():
    # Given 2,000 A/A experiments of 2,000 users per arm at a 10 % rate
    rng = np.random.default_rng(20240601)
    runs, n, rate = 2000, 2000, 0.10
    control, treatment = rng.binomial(n, rate, runs), rng.binomial(n, rate, runs)

    # When each is analysed once at the planned horizon
    rejections = [
        compare_proportions(n, c, n, t, fisher=False).significant
        for c, t in zip(control, treatment, strict=True)
    ]

    # Then about 5 % are (falsely) significant
    assert 0.035 <= np.mean(rejections) <= 0.065


def test_compare_proportions__aa_peeking_ten_looks__fixed_inflated_sequential_controlled():
    # Given 1,000 A/A experiments looked at after every 500 users per arm, 10 looks in all
    rng = np.random.default_rng(20240602)
    runs, looks, batch, rate = 1000, 10, 500, 0.10
    control = rng.binomial(batch, rate, (runs, looks)).cumsum(axis=1)
    treatment = rng.binomial(batch, rate, (runs, looks)).cumsum(axis=1)

    fixed_any = np.zeros(runs, bool)
    sequential_any = np.zeros(runs, bool)
    fixed_last = np.zeros(runs, bool)
    for run in range(runs):
        for look in range(looks):
            n = batch * (look + 1)
            result = compare_proportions(n, control[run, look], n, treatment[run, look], fisher=False)
            fixed_any[run] |= result.significant
            sequential_any[run] |= result.seq_significant
        fixed_last[run] = result.significant

    # Then stopping at the first fixed-horizon "win" is clearly inflated (≈ 15-20 %),
    assert fixed_any.mean() > 0.10
    # the always-valid p-value keeps the error rate at or below alpha even with peeking,
    assert sequential_any.mean() <= 0.065
    # and a single look at the end is still nominal.
    assert 0.03 <= fixed_last.mean() <= 0.07


def test_compare_proportions__planted_lift__intervals_cover_truth_about_95_percent():
    rng = np.random.default_rng(20240603)
    runs, n, p_c, p_t = 2000, 5000, 0.10, 0.12
    control, treatment = rng.binomial(n, p_c, runs), rng.binomial(n, p_t, runs)

    results = [compare_proportions(n, c, n, t, fisher=False) for c, t in zip(control, treatment, strict=True)]

    covered_abs = np.mean([r.abs_diff_ci[0] <= p_t - p_c <= r.abs_diff_ci[1] for r in results])
    covered_rel = np.mean([r.rel_lift_ci[0] <= p_t / p_c - 1 <= r.rel_lift_ci[1] for r in results])
    covered_seq = np.mean([r.seq_abs_diff_ci[0] <= p_t - p_c <= r.seq_abs_diff_ci[1] for r in results])
    assert 0.935 <= covered_abs <= 0.965
    assert 0.93 <= covered_rel <= 0.965
    assert covered_seq >= 0.95


def test_compare_means__aa_simulation_skewed_metric__false_positive_rate_near_alpha():
    # Events per user are skewed (exponential); Welch on 400 users per arm is still nominal.
    rng = np.random.default_rng(20240604)
    runs, n = 2000, 400
    c, t = rng.exponential(2.0, (runs, n)), rng.exponential(2.0, (runs, n))
    sums = lambda a: (a.sum(axis=1), (a**2).sum(axis=1))  # noqa: E731
    (c_sum, c_sq), (t_sum, t_sq) = sums(c), sums(t)

    rejections = [compare_means(n, c_sum[i], c_sq[i], n, t_sum[i], t_sq[i]).significant for i in range(runs)]

    assert 0.035 <= np.mean(rejections) <= 0.065


def _cuped_arm(y, x):
    return {
        "n": y.shape[1],
        "sum_y": y.sum(axis=1),
        "sum_y2": (y**2).sum(axis=1),
        "sum_x": x.sum(axis=1),
        "sum_x2": (x**2).sum(axis=1),
        "sum_xy": (x * y).sum(axis=1),
    }


@pytest.mark.parametrize("effect", [0.0, 0.15], ids=["null", "planted-effect"])
def test_compare_means_cuped__correlated_simulation__reduces_variance_and_keeps_coverage(effect):
    # Given y correlated with its pre-period x (corr² = 0.64) in 1,000 experiments of 500 per arm
    rng = np.random.default_rng(20240605 + int(effect * 100))
    runs, n = 1000, 500
    x_c, x_t = rng.normal(0, 1, (runs, n)), rng.normal(0, 1, (runs, n))
    y_c = 2.0 + 0.8 * x_c + rng.normal(0, 0.6, (runs, n))
    y_t = 2.0 + effect + 0.8 * x_t + rng.normal(0, 0.6, (runs, n))
    sums_c, sums_t = _cuped_arm(y_c, x_c), _cuped_arm(y_t, x_t)
    arm = lambda sums, i: {k: (v if k == "n" else float(v[i])) for k, v in sums.items()}  # noqa: E731

    results = [compare_means_cuped(arm(sums_c, i), arm(sums_t, i)) for i in range(runs)]

    reduction = np.array([r.variance_reduction for r in results])
    covered = np.mean([r.abs_diff_ci[0] <= effect <= r.abs_diff_ci[1] for r in results])
    covered_plain = np.mean(
        [r.unadjusted.abs_diff_ci[0] <= effect <= r.unadjusted.abs_diff_ci[1] for r in results]
    )
    assert reduction.mean() == pytest.approx(0.64, abs=0.03)
    assert np.mean(reduction > 0) >= 0.99
    assert 0.935 <= covered <= 0.965
    assert 0.935 <= covered_plain <= 0.965
    # The estimates really are less variable across experiments, not just claimed to be.
    spread = np.std([r.abs_diff for r in results]) / np.std([r.unadjusted.abs_diff for r in results])
    assert spread == pytest.approx(0.6, abs=0.06)
