"""Time to activation: Kaplan–Meier curves and the log-rank test.

Users who have not activated yet are *censored* at the time we last saw them; ignoring them
(or counting them as never activating) biases time-to-activation. Kaplan–Meier handles
censoring; the log-rank test compares whole curves between variants. Both come from
statsmodels (``SurvfuncRight``, ``survdiff``); inputs are plain sequences of durations (any
time unit) and event flags (1 = activated, 0 = censored).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
from scipy import special, stats
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from experiments.stats._checks import check_alpha
from experiments.stats.results import KaplanMeierResult, LogrankResult

KM_METHOD = (
    "Kaplan–Meier (statsmodels SurvfuncRight); pointwise log-log CI from Greenwood's variance; "
    "median CI by inverting log-log tests (statsmodels quantile_ci)"
)
LOGRANK_METHOD = "log-rank test (statsmodels survdiff)"


def kaplan_meier(
    durations: Sequence[float], events: Sequence[int | bool], alpha: float = 0.05
) -> KaplanMeierResult:
    """Kaplan–Meier survival (share not yet activated) with pointwise intervals and median."""
    check_alpha(alpha)
    time, status = _arrays(durations, events)
    warnings: list[str] = []
    if time.size == 0:
        warnings.append("No units: there is no curve to estimate.")
        return KaplanMeierResult(
            KM_METHOD, float(alpha), 0, 0, (), (), (), None, (None, None), tuple(warnings)
        )
    n_events = int(status.sum())
    if n_events == 0:
        warnings.append(
            "No events yet (every unit is censored): the curve stays at 1 and the median is unknown."
        )
        return KaplanMeierResult(
            KM_METHOD, float(alpha), int(time.size), 0, (), (), (), None, (None, None), tuple(warnings)
        )

    fit = SurvfuncRight(time, status)
    times = fit.surv_times.astype(float)
    survival = fit.surv_prob.astype(float)
    z = float(special.ndtri(1 - alpha / 2))
    ci = tuple(_loglog_ci(s, se, z) for s, se in zip(survival, fit.surv_prob_se, strict=True))

    median = None
    reached = np.flatnonzero(survival <= 0.5)
    if reached.size:
        median = float(times[reached[0]])
    else:
        warnings.append("Fewer than half of the units have the event yet: the median is not reached.")
    with np.errstate(divide="ignore", invalid="ignore"):
        lower, upper = fit.quantile_ci(0.5, alpha=alpha, method="cloglog")
    median_ci = (_finite_or_none(lower), _finite_or_none(upper))

    return KaplanMeierResult(
        method=KM_METHOD,
        alpha=float(alpha),
        n=int(time.size),
        n_events=n_events,
        times=tuple(float(t) for t in times),
        survival=tuple(float(s) for s in survival),
        ci=ci,
        median=median,
        median_ci=median_ci,
        warnings=tuple(warnings),
    )


def logrank_test(
    durations_by_group: Sequence[Sequence[float]], events_by_group: Sequence[Sequence[int | bool]]
) -> LogrankResult:
    """Log-rank chi-square test that all groups share one time-to-event curve."""
    if len(durations_by_group) != len(events_by_group):
        raise ValueError("durations_by_group and events_by_group must have one entry per group")
    times, statuses, groups = [], [], []
    for label, (durations, events) in enumerate(zip(durations_by_group, events_by_group, strict=True)):
        time, status = _arrays(durations, events)
        if time.size:
            times.append(time)
            statuses.append(status)
            groups.append(np.full(time.size, label))
    n_groups = len(times)
    warnings: list[str] = []
    if n_groups < 2:
        warnings.append("Fewer than two groups have units: there is nothing to compare.")
        return LogrankResult(LOGRANK_METHOD, n_groups, None, None, None, tuple(warnings))
    status = np.concatenate(statuses)
    if status.sum() == 0:
        warnings.append("No events in any group yet: the curves cannot differ.")
        return LogrankResult(LOGRANK_METHOD, n_groups, None, n_groups - 1, None, tuple(warnings))
    chi2, _ = survdiff(np.concatenate(times), status, np.concatenate(groups))
    df = n_groups - 1
    return LogrankResult(
        method=LOGRANK_METHOD,
        n_groups=n_groups,
        chi2=float(chi2),
        df=df,
        p_value=float(stats.chi2.sf(chi2, df)),
        warnings=tuple(warnings),
    )


def _arrays(durations: Sequence[float], events: Sequence[int | bool]) -> tuple[np.ndarray, np.ndarray]:
    time = np.asarray(durations, dtype=float).ravel()
    status = np.asarray(events, dtype=float).ravel()
    if time.shape != status.shape:
        raise ValueError(f"{time.size} durations but {status.size} event flags")
    if time.size and (not np.all(np.isfinite(time)) or np.any(time < 0)):
        raise ValueError("durations must be finite and non-negative")
    if not np.all(np.isin(status, (0.0, 1.0))):
        raise ValueError("event flags must be 0/1 or booleans")
    return time, status


def _loglog_ci(s: float, se: float, z: float) -> tuple[float | None, float | None]:
    """Interval exp(-exp(log(-log S) ± z·se/(S·|log S|))) — stays inside (0, 1)."""
    if not (0.0 < s < 1.0) or not math.isfinite(se):
        if s == 1.0:
            return (1.0, 1.0)
        return (None, None)
    eta = math.log(-math.log(s))
    half = z * se / (s * abs(math.log(s)))
    return (math.exp(-math.exp(eta + half)), math.exp(-math.exp(eta - half)))


def _finite_or_none(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None
