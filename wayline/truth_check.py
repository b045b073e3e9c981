"""Compare what the result pages and reports say with the effects planted in the simulated data.

An interface layer: it reads experiment results (``experiments.analysis.experiment_results_get``)
and analytics reports (``time_in_stage_report``, ``feature_adoption_report``) exactly as the pages
do, and sets each planted truth beside the reported number with a pass or a fail.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta

from analytics.reports.adoption import feature_adoption_report
from analytics.reports.filters import ReportFilters
from analytics.reports.time_in_stage import time_in_stage_report
from analytics.simulation.truth import AA, TOUR, Truth
from experiments.analysis import ExperimentResults, experiment_results_get
from experiments.models import Experiment
from experiments.stats import compare_proportions
from onboarding.models import Application, Segment

DAY = 86_400.0
ACTIVATED_BY_DAY = 1  # whole days after exposure: day 1 = within the first two days


@dataclass(frozen=True)
class Check:
    name: str
    planted: str
    reported: str
    passed: bool


def truth_checks(*, application: Application, experiments: dict[str, Experiment], truth: Truth) -> list[Check]:
    """Every planted truth against the reports, computed as of the simulated ``truth.end``."""
    checks: list[Check] = []
    results = {key: experiment_results_get(experiment, now=truth.end) for key, experiment in experiments.items()}
    for planted in truth.experiments:
        result = results.get(planted.key)
        if result is None:
            checks.append(Check(f"{planted.name}: experiment", "exists and runs", "missing", False))
            continue
        control, treatment = _primary_rows(result)
        comparison = treatment.comparison if treatment else None
        if comparison is None or comparison.abs_diff_ci is None:
            checks.append(Check(f"{planted.name}: lift", "a comparison", "no comparison", False))
            continue
        low, high = comparison.abs_diff_ci
        reported = (f"{_pct(control.value)} → {_pct(treatment.value)}, {_pp(comparison.abs_diff)}, "
                    f"95 % CI [{_pp(low)}, {_pp(high)}], p = {comparison.p_value:.2g}")
        if planted.key == AA:
            checks.append(Check(f"{planted.name}: not called a winner", "no effect (0 pp)", reported,
                                not comparison.significant))
        else:
            planted_text = (f"{_pct(planted.control_rate)} → {_pct(planted.treatment_rate)} "
                            f"({_pp(planted.absolute_lift)})")
            checks.append(Check(f"{planted.name}: planted lift inside the 95 % CI", planted_text, reported,
                                low <= planted.absolute_lift <= high))
        srm = result.srm
        srm_text = f"users {list(srm.observed)}, p = {srm.p_value:.2g}" if srm and srm.p_value is not None else "none"
        checks.append(Check(
            f"{planted.name}: sample ratio {'mismatch flagged' if planted.expect_srm else 'not flagged'}",
            f"{planted.exposure_drop:.0%} of treatment exposures lost" if planted.expect_srm else "50 / 50 split",
            srm_text, bool(srm and srm.flagged) == planted.expect_srm,
        ))
    if TOUR in results:
        checks.append(_sooner_check(results[TOUR], truth))
    filters = ReportFilters.build(application_id=application.id, start=truth.start.date(),
                                  end=(truth.end - timedelta(microseconds=1)).date(), now=truth.end)
    checks.append(_onboarding_check(application, filters, truth))
    checks.append(_breadth_check(filters, truth))
    return checks


def _primary_rows(result: ExperimentResults):
    metric = next((m for m in result.metrics if m.role == "primary"), None)
    if metric is None or len(metric.rows) < 2:
        return None, None
    return metric.rows[0], metric.rows[1]


def _sooner_check(result: ExperimentResults, truth: Truth) -> Check:
    """Sooner, not more: the curves meet again by the end of the window, which a log-rank test
    (summing over the whole window) barely sees; the share activated by day 1 shows it."""
    name = "Widget tour: activation sooner"
    planted = f"integration delay × {truth.tour_activation_delay_factor:g} with the tour (same final rate)"
    survival = result.time_to_activation
    if survival is None or len(survival.curves) < 2:
        return Check(name, planted, "no time-to-activation curves", False)
    control, treatment = survival.curves[:2]
    shares = [1 - _survival_at(curve.times, curve.survival, ACTIVATED_BY_DAY) for curve in (control, treatment)]
    test = compare_proportions(control.n, round(control.n * shares[0]), treatment.n, round(treatment.n * shares[1]),
                               fisher=False)
    reported = (f"activated within {ACTIVATED_BY_DAY + 1} days of exposure: {_pct(shares[0])} without → "
                f"{_pct(shares[1])} with the tour (p = {test.p_value:.2g}); log-rank over "
                f"{survival.window_days} days p = {survival.logrank_p_value:.2g}")
    return Check(name, planted, reported, shares[1] > shares[0] and test.p_value < 0.05)


def _survival_at(times, survival, day: float) -> float:
    value = 1.0
    for time, share in zip(times, survival):
        if time > day:
            break
        value = share
    return value


def _onboarding_check(application: Application, filters: ReportFilters, truth: Truth) -> Check:
    name = "Onboarding stage longest for the non-technical persona"
    segments = {
        segment.rule.get("value"): segment for segment in Segment.objects.filter(application=application, is_persona=True)
        if isinstance(segment.rule, dict)
    }
    report = time_in_stage_report(filters=filters, compare_segment_ids=tuple(s.id for s in segments.values()))
    onboarding = next((stage for stage in report.stages if stage.slug == "onboarding"), None)
    slug_to_persona = {segment.slug: persona for persona, segment in segments.items()}
    groups = {slug_to_persona[g.group]: g.survival for g in (onboarding.by_segment if onboarding else ())
              if g.group in slug_to_persona}
    if not groups:
        return Check(name, truth.onboarding_longest_persona, "no onboarding stays reported", False)

    def length(survival) -> tuple[float, float]:  # a quantile never reached is longer than any reached
        return (survival.median_seconds or math.inf, survival.p25_seconds or math.inf)

    longest = max(groups, key=lambda persona: length(groups[persona]))
    reported = ", ".join(
        f"{persona}: median {_days(s.median_seconds)} (p25 {_days(s.p25_seconds)})" for persona, s in groups.items()
    )
    planted = f"{truth.onboarding_longest_persona} (integration median " + ", ".join(
        f"{key} {days:g} d" for key, days in truth.onboarding_median_days.items()) + ")"
    return Check(name, planted, f"longest: {longest}; {reported}", longest == truth.onboarding_longest_persona)


def _breadth_check(filters: ReportFilters, truth: Truth) -> Check:
    report = feature_adoption_report(filters=filters)
    retained = sum(b.features_used * b.retained for b in report.breadth)
    retained_users = sum(b.retained for b in report.breadth)
    churned = sum(b.features_used * b.churned for b in report.breadth)
    churned_users = sum(b.churned for b in report.breadth)
    if not retained_users or not churned_users:
        return Check("Feature breadth: retained vs churned", "", "no retained or churned users yet", False)
    retained_mean, churned_mean = retained / retained_users, churned / churned_users
    low_r, high_r = truth.retained_features
    low_c, high_c = truth.churned_features
    return Check(
        "Feature breadth: retained vs churned users",
        f"retained {low_r}–{high_r} features, churned {low_c}–{high_c}",
        f"retained {retained_mean:.2f} (n = {retained_users:,}), churned {churned_mean:.2f} (n = {churned_users:,})",
        low_r <= retained_mean <= high_r and low_c <= churned_mean <= high_c,
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.1f} %"


def _pp(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:+.1f} pp"


def _days(seconds: float | None) -> str:
    return "not reached" if seconds is None else f"{seconds / DAY:.1f} d"


def checks_as_text(checks: list[Check]) -> str:
    lines = []
    for check in checks:
        lines.append(f"{'PASS' if check.passed else 'FAIL'}  {check.name}")
        lines.append(f"      planted:  {check.planted}")
        lines.append(f"      reported: {check.reported}")
    passed = sum(check.passed for check in checks)
    lines.append(f"{passed} of {len(checks)} truths found by the reports.")
    return "\n".join(lines)
