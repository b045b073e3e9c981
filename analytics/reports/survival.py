"""Kaplan–Meier summaries over grouped durations (statsmodels), for time-in-stage reports."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
from statsmodels.duration.survfunc import SurvfuncRight, survdiff


@dataclass(frozen=True)
class Survival:
    """Kaplan–Meier quartiles of a duration in seconds; ``None`` where the curve never gets there."""

    entries: int  # durations observed (finished or still running)
    finished: int  # ended by a later event (the rest are censored at "now")
    censored: int
    median_seconds: float | None
    p25_seconds: float | None
    p75_seconds: float | None


EMPTY = Survival(0, 0, 0, None, None, None)


def km_summary(durations, finished, counts) -> Survival:
    """``durations`` (seconds), ``finished`` (1 ended / 0 censored) and ``counts`` (how many had it)."""
    time = np.asarray(durations, dtype=float)
    status = np.asarray(finished, dtype=float)
    weights = np.asarray(counts, dtype=float)
    total = int(weights.sum())
    if total == 0:
        return EMPTY
    done = int(weights[status == 1].sum())
    if done == 0:
        return Survival(total, 0, total, None, None, None)
    curve = SurvfuncRight(time, status, freq_weights=weights)
    return Survival(total, done, total - done, *(_quantile(curve, p) for p in (0.5, 0.25, 0.75)))


def logrank_p(durations, finished, counts, groups) -> float | None:
    """Log-rank p-value across ``groups`` (None unless ≥ 2 groups and some finished durations)."""
    weights = np.asarray(counts, dtype=int)
    time = np.repeat(np.asarray(durations, dtype=float), weights)
    status = np.repeat(np.asarray(finished, dtype=int), weights)
    group = np.repeat(np.asarray(groups), weights)
    if len(set(group.tolist())) < 2 or status.sum() == 0:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        _, p = survdiff(time, status, group)
    return None if math.isnan(p) else float(p)


def _quantile(curve: SurvfuncRight, p: float) -> float | None:
    value = curve.quantile(p)
    return None if value is None or math.isnan(value) else float(value)
