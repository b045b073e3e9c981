"""Frozen result dataclasses returned by the statistics functions.

Every number is a builtin ``float``/``int`` (never a numpy scalar) so results serialise with
``dataclasses.asdict`` + ``json.dumps``. A field is ``None`` when the question it answers is
meaningless for the data given (an empty arm, zero variance, a zero baseline for a relative
lift); the ``warnings`` tuple then says why in plain words.
"""

from __future__ import annotations

from dataclasses import dataclass

Interval = tuple[float, float]


@dataclass(frozen=True)
class ProportionsResult:
    """Comparison of a conversion rate between a control and a treatment arm.

    Fields:
        method: the tests and intervals used, spelled out.
        alpha: two-sided significance level used for every interval and ``significant``.
        control_users, control_conversions, treatment_users, treatment_conversions: the inputs.
        control_rate, treatment_rate: conversions / users; None for an arm without users.
        abs_diff: treatment_rate - control_rate (absolute, in rate units).
        abs_diff_se: unpooled standard error sqrt(pC(1-pC)/nC + pT(1-pT)/nT).
        abs_diff_ci: Wald interval abs_diff ± z(1-alpha/2)·abs_diff_se; None when the SE is 0.
        rel_lift: abs_diff / control_rate; None when the control rate is 0.
        rel_lift_ci: delta-method Wald interval for treatment_rate / control_rate - 1.
        z_statistic: abs_diff / abs_diff_se.
        p_value: two-sided Wald z-test with unpooled variance (statsmodels
            ``test_proportions_2indep(method='wald', compare='diff')``); agrees with
            ``abs_diff_ci`` on significance. None when the SE is 0.
        significant: p_value < alpha (False when p_value is None).
        fisher_p_value: two-sided Fisher exact test on the 2x2 table (scipy ``fisher_exact``);
            the number to read when counts are small or a rate is 0. None if not computed.
        chance_to_beat_control: P(pT > pC) with independent Beta(1 + conversions,
            1 + non-conversions) posteriors (uniform priors), by numerical integration.
        expected_loss_control: risk of shipping control, E[max(pT - pC, 0)] (rate units).
        expected_loss_treatment: risk of shipping treatment, E[max(pC - pT, 0)] (rate units).
        sequential_tuning: N*, the combined sample size at which the confidence sequence is
            tightest.
        seq_abs_diff_ci: always-valid (asymptotic confidence sequence) interval for abs_diff.
        seq_rel_lift_ci: always-valid interval for rel_lift (delta-method SE).
        seq_p_value: always-valid p-value: smallest level at which the confidence sequence
            for abs_diff excludes 0.
        seq_significant: seq_p_value < alpha (False when seq_p_value is None).
        warnings: human-readable reasons why some numbers are None or should be read with care.
    """

    method: str
    alpha: float
    control_users: int
    control_conversions: int
    treatment_users: int
    treatment_conversions: int
    control_rate: float | None
    treatment_rate: float | None
    abs_diff: float | None
    abs_diff_se: float | None
    abs_diff_ci: Interval | None
    rel_lift: float | None
    rel_lift_ci: Interval | None
    z_statistic: float | None
    p_value: float | None
    significant: bool
    fisher_p_value: float | None
    chance_to_beat_control: float | None
    expected_loss_control: float | None
    expected_loss_treatment: float | None
    sequential_tuning: float
    seq_abs_diff_ci: Interval | None
    seq_rel_lift_ci: Interval | None
    seq_p_value: float | None
    seq_significant: bool
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class MeansResult:
    """Comparison of a mean metric (e.g. events per user) between control and treatment.

    Fields:
        method: the tests and intervals used, spelled out.
        alpha: two-sided significance level.
        control_n, treatment_n: units per arm.
        control_mean, treatment_mean: sum / n; None for an arm without units.
        control_variance, treatment_variance: sample variance (n - 1 denominator); None when
            n < 2.
        abs_diff: treatment_mean - control_mean.
        abs_diff_se: Welch standard error sqrt(sC²/nC + sT²/nT).
        df: Welch–Satterthwaite degrees of freedom.
        abs_diff_ci: Welch t interval abs_diff ± t(1-alpha/2, df)·abs_diff_se.
        rel_lift: abs_diff / control_mean; None when the control mean is 0.
        rel_lift_ci: delta-method interval for treatment_mean / control_mean - 1, with the same
            t critical value as abs_diff_ci.
        t_statistic: abs_diff / abs_diff_se.
        p_value: two-sided Welch t-test (scipy ``ttest_ind_from_stats(equal_var=False)``).
        significant: p_value < alpha.
        chance_to_beat_control: Φ(abs_diff / abs_diff_se), the posterior P(μT > μC) under a
            normal approximation with flat priors.
        sequential_tuning, seq_abs_diff_ci, seq_rel_lift_ci, seq_p_value, seq_significant: as in
            ProportionsResult, with the normal (asymptotic) confidence sequence.
        warnings: reasons why numbers are None or fragile.
    """

    method: str
    alpha: float
    control_n: int
    treatment_n: int
    control_mean: float | None
    treatment_mean: float | None
    control_variance: float | None
    treatment_variance: float | None
    abs_diff: float | None
    abs_diff_se: float | None
    df: float | None
    abs_diff_ci: Interval | None
    rel_lift: float | None
    rel_lift_ci: Interval | None
    t_statistic: float | None
    p_value: float | None
    significant: bool
    chance_to_beat_control: float | None
    sequential_tuning: float
    seq_abs_diff_ci: Interval | None
    seq_rel_lift_ci: Interval | None
    seq_p_value: float | None
    seq_significant: bool
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class CupedResult:
    """CUPED-adjusted comparison of means (Deng, Xu, Kohavi & Walker, 2013).

    Fields:
        method: the adjustment and test used, spelled out.
        alpha: two-sided significance level.
        theta: pooled within-arm regression slope of the metric on its pre-exposure value,
            Σ Cov(x, y) / Σ Var(x) over both arms; 0 when x has no variance.
        control_mean, treatment_mean: adjusted means ȳ - θ(x̄_arm - x̄_both arms), on the
            metric's own scale.
        abs_diff: adjusted treatment_mean - control_mean (equals the treatment coefficient of
            the regression y ~ treatment + x).
        abs_diff_se: Welch standard error of the adjusted difference (θ treated as known).
        df: Welch–Satterthwaite degrees of freedom on the adjusted variances.
        abs_diff_ci, rel_lift, rel_lift_ci, t_statistic, p_value, significant,
            chance_to_beat_control, sequential_tuning, seq_abs_diff_ci, seq_rel_lift_ci,
            seq_p_value, seq_significant: as in MeansResult, on the adjusted metric.
        variance_reduction: 1 - abs_diff_se² / unadjusted.abs_diff_se², the share of the
            variance of the estimate that CUPED removed; None when undefined.
        unadjusted: the plain Welch comparison of y, for comparison.
        warnings: reasons why numbers are None or fragile.
    """

    method: str
    alpha: float
    theta: float | None
    control_mean: float | None
    treatment_mean: float | None
    abs_diff: float | None
    abs_diff_se: float | None
    df: float | None
    abs_diff_ci: Interval | None
    rel_lift: float | None
    rel_lift_ci: Interval | None
    t_statistic: float | None
    p_value: float | None
    significant: bool
    chance_to_beat_control: float | None
    variance_reduction: float | None
    sequential_tuning: float
    seq_abs_diff_ci: Interval | None
    seq_rel_lift_ci: Interval | None
    seq_p_value: float | None
    seq_significant: bool
    unadjusted: MeansResult
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class ClusteredResult:
    """Difference in means (or rates) when randomisation is by cluster (account).

    Fields:
        method: "OLS with cluster-robust SE (CR1) by account".
        alpha: two-sided significance level.
        control_units, treatment_units: units (users) per arm.
        control_clusters, treatment_clusters: clusters (accounts) with at least one unit.
        control_mean, treatment_mean: Σ sums / Σ units per arm (the conversion rate for a
            conversion metric).
        abs_diff: treatment_mean - control_mean (the OLS coefficient on the treatment dummy).
        abs_diff_se: cluster-robust CR1 standard error, identical to statsmodels
            ``OLS(...).fit(cov_type='cluster')``.
        df: G - 1 (G = clusters in both arms), the degrees of freedom of the t reference.
        abs_diff_ci: abs_diff ± t(1-alpha/2, G-1)·abs_diff_se.
        rel_lift: abs_diff / control_mean; None when the control mean is 0.
        rel_lift_ci: delta-method interval with the per-arm cluster-robust variances.
        t_statistic: abs_diff / abs_diff_se.
        p_value: two-sided t-test with G - 1 degrees of freedom.
        significant: p_value < alpha.
        warnings: reasons why numbers are None or fragile.
    """

    method: str
    alpha: float
    control_units: int
    treatment_units: int
    control_clusters: int
    treatment_clusters: int
    control_mean: float | None
    treatment_mean: float | None
    abs_diff: float | None
    abs_diff_se: float | None
    df: float | None
    abs_diff_ci: Interval | None
    rel_lift: float | None
    rel_lift_ci: Interval | None
    t_statistic: float | None
    p_value: float | None
    significant: bool
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class SrmCheck:
    """Sample-ratio-mismatch check: do assignment counts match the configured split?

    Fields:
        method: "chi-square goodness of fit (scipy.stats.chisquare)".
        observed: units counted per variant, in variant order.
        expected: units expected per variant, total × weight / Σ weights.
        statistic: the chi-square statistic; None when the test is meaningless.
        df: degrees of freedom (variants with positive weight - 1).
        p_value: P(chi-square ≥ statistic) under the configured split; None with no units or
            fewer than two variants with positive weight.
        threshold: flag level (0.001 by default: SRM checks run continuously, so a strict
            level keeps false alarms rare).
        flagged: p_value < threshold — the assignment or logging is probably broken and the
            experiment's results should not be trusted.
        warnings: reasons why numbers are None.
    """

    method: str
    observed: tuple[int, ...]
    expected: tuple[float, ...]
    statistic: float | None
    df: int | None
    p_value: float | None
    threshold: float
    flagged: bool
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class KaplanMeierResult:
    """Kaplan–Meier estimate of the share of units not yet activated over time.

    Fields:
        method: estimator and interval used.
        alpha: 1 - confidence level of the pointwise intervals.
        n: units.
        n_events: units whose event (activation) was observed; the rest are censored.
        times: distinct event times, ascending.
        survival: S(t), the estimated share still without the event just after each time.
        ci: pointwise (lower, upper) interval for each S(t), log-log transform of the
            Greenwood standard error; (None, None) where undefined (S = 0).
        median: smallest time with S(t) ≤ 0.5 (median time to event); None if not reached.
        median_ci: (lower, upper) for the median by inverting pointwise tests (statsmodels
            ``quantile_ci(method='cloglog')``); an end is None when not reached.
        warnings: reasons why numbers are None.
    """

    method: str
    alpha: float
    n: int
    n_events: int
    times: tuple[float, ...]
    survival: tuple[float, ...]
    ci: tuple[tuple[float | None, float | None], ...]
    median: float | None
    median_ci: tuple[float | None, float | None]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class LogrankResult:
    """Log-rank test that time-to-event curves are equal across groups.

    Fields:
        method: "log-rank test (statsmodels survdiff)".
        n_groups: groups with at least one unit.
        chi2: the log-rank chi-square statistic; None when meaningless.
        df: n_groups - 1.
        p_value: P(chi-square(df) ≥ chi2); None with fewer than two non-empty groups or no
            events at all.
        warnings: reasons why numbers are None.
    """

    method: str
    n_groups: int
    chi2: float | None
    df: int | None
    p_value: float | None
    warnings: tuple[str, ...]
