"""Aha-moment finder: which early actions go together with users staying.

Users first seen in the range whose retention is known (see ``activity``) are sampled (at most
``sample_cap``, a deterministic hash order so the same data gives the same sample). For each
candidate event SQL counts how often each sampled user did it in their first ``early_days``
days (one row per user × event). Then: retention of users who did vs did not; a multivariable
logistic regression of retention on "did it" indicators (statsmodels ``Logit``; on perfect
separation or a singular design it falls back to an L1-regularised fit, which has no confidence
intervals); and the count-threshold rule over the top events that best separates retained
users, scored by Youden's J (sensitivity + specificity − 1, which does not reward predicting
the majority class). All of it is correlation, not causation.
"""
from __future__ import annotations

import itertools
import math
import warnings
from dataclasses import dataclass

import numpy as np
from statsmodels.discrete.discrete_model import Logit
from statsmodels.tools.sm_exceptions import (
    ConvergenceWarning,
    PerfectSeparationError,
    PerfectSeparationWarning,
)

from analytics.reports import sql
from analytics.reports.activity import DEFAULT_RETENTION_WEEK, retention_status_sql
from analytics.reports.filters import Report, ReportFilters, ReportMeta, user_scope

CORRELATION_NOTE = (
    "Correlation, not causation: users who do these things early may differ in other ways; "
    "test a change with an experiment before acting on it."
)
MAX_THRESHOLD = 5


@dataclass(frozen=True)
class EarlyAction:
    event: str
    users_did: int
    retained_did: int
    retention_did: float | None
    users_did_not: int
    retained_did_not: int
    retention_did_not: float | None
    difference: float | None  # retention_did - retention_did_not


@dataclass(frozen=True)
class OddsRatio:
    event: str
    odds_ratio: float
    ci_low: float | None  # 95 % confidence interval (None for the regularised fit)
    ci_high: float | None
    p_value: float | None


@dataclass(frozen=True)
class ThresholdRule:
    conditions: tuple[tuple[str, int], ...]  # (event, at least this many times in the first days)
    description: str  # e.g. "integration_connected ≥ 1 and teammate_invited ≥ 2"
    youden_j: float
    sensitivity: float  # share of retained users who match
    specificity: float  # share of churned users who do not match
    f1: float
    matched_users: int
    retention_matched: float | None
    retention_unmatched: float | None


@dataclass(frozen=True)
class AhaReport(Report):
    meta: ReportMeta
    early_days: int
    retention_week: int
    eligible_users: int  # cohort users whose retention is known
    sample_size: int
    sample_cap: int
    retention_rate: float | None
    actions: tuple[EarlyAction, ...]  # by difference in retention, largest first
    model: str | None  # "logit", "logit_l1_regularized" or None (not enough data)
    odds_ratios: tuple[OddsRatio, ...]  # by odds ratio, largest first
    best_rule: ThresholdRule | None
    rule_score: str
    correlation_only: bool
    note: str

    def rows(self) -> list[dict]:
        ors = {o.event: o for o in self.odds_ratios}
        return [
            {"event": a.event, "users_did": a.users_did, "retention_did": a.retention_did,
             "users_did_not": a.users_did_not, "retention_did_not": a.retention_did_not,
             "difference": a.difference,
             "odds_ratio": ors[a.event].odds_ratio if a.event in ors else None,
             "ci_low": ors[a.event].ci_low if a.event in ors else None,
             "ci_high": ors[a.event].ci_high if a.event in ors else None}
            for a in self.actions
        ]


def aha_report(*, filters: ReportFilters, candidates: tuple[str, ...] | None = None, early_days: int = 7,
               retention_week: int = DEFAULT_RETENTION_WEEK, sample_cap: int = 50_000,
               max_candidates: int = 12) -> AhaReport:
    scope = user_scope(filters, cohort=True)
    cohort_sql, cohort_params = sql.subquery(scope.users)
    status = retention_status_sql(user="u.id", first_seen="u.first_seen_at", week=retention_week)
    known = f"""SELECT u.id, u.first_seen_at, {status} AS retained FROM analytics_enduser u
                WHERE u.id IN ({cohort_sql})"""
    known_params = [sql.date_param(filters.now.date()), *cohort_params]
    rows = sql.fetch(  # the window count runs before LIMIT: every eligible user
        f"""SELECT id, retained, COUNT(*) OVER () FROM ({known}) k WHERE retained IS NOT NULL
            ORDER BY {sql.sample_order('id')} LIMIT %s""",
        [*known_params, int(sample_cap)],
    )
    eligible = rows[0][2] if rows else 0
    people = [(user_id, retained) for user_id, retained, _ in rows]
    # The sample is materialised once (at most sample_cap ids, as one parameter) for the queries below.
    in_sample, sample_params = sql.in_ids("u.id", [user_id for user_id, _ in people])
    first_days = sql.ts_plus_days("u.first_seen_at", early_days)
    early = f"""FROM analytics_enduser u JOIN analytics_event e ON e.user_id = u.id
                WHERE {in_sample} AND e.timestamp >= u.first_seen_at AND e.timestamp < {first_days}"""
    if candidates is None and people:
        top = sql.fetch(
            f"""SELECT e.name, COUNT(DISTINCT e.user_id) {early} AND e.name NOT LIKE '$%%'
                GROUP BY e.name ORDER BY 2 DESC, 1 LIMIT %s""",
            [*sample_params, int(max_candidates)],
        )
        candidates = tuple(name for name, _ in top)
    candidates = tuple(dict.fromkeys(candidates or ()))
    counts_rows = sql.fetch(
        f"SELECT u.id, e.name, COUNT(*) {early} AND e.name IN ({', '.join(['%s'] * len(candidates)) or 'NULL'}) "
        "GROUP BY u.id, e.name",
        [*sample_params, *candidates],
    ) if candidates and people else []
    index = {user_id: i for i, (user_id, _) in enumerate(people)}
    column = {name: j for j, name in enumerate(candidates)}
    counts = np.zeros((len(people), len(candidates)))
    for user_id, name, n in counts_rows:
        counts[index[user_id], column[name]] = n
    retained = np.array([int(r) for _, r in people], dtype=float)
    actions = sorted((_action(name, counts[:, j] > 0, retained) for name, j in column.items()),
                     key=lambda a: (a.difference is None, -(a.difference or 0), a.event))
    model, odds = _logit(candidates, counts > 0, retained)
    top_events = [a.event for a in actions if a.difference and a.difference > 0][:3]
    best = _best_rule(top_events, counts, column, retained)
    return AhaReport(
        meta=ReportMeta.of(filters, scope.segment_method), early_days=early_days, retention_week=retention_week,
        eligible_users=int(eligible or 0), sample_size=len(people), sample_cap=int(sample_cap),
        retention_rate=float(retained.mean()) if len(people) else None,
        actions=tuple(actions), model=model, odds_ratios=odds, best_rule=best,
        rule_score="youden_j", correlation_only=True, note=CORRELATION_NOTE,
    )


def _action(name: str, did: np.ndarray, retained: np.ndarray) -> EarlyAction:
    n_did, n_not = int(did.sum()), int((~did).sum())
    r_did, r_not = int(retained[did].sum()), int(retained[~did].sum())
    rate_did = r_did / n_did if n_did else None
    rate_not = r_not / n_not if n_not else None
    return EarlyAction(name, n_did, r_did, rate_did, n_not, r_not, rate_not,
                       None if rate_did is None or rate_not is None else rate_did - rate_not)


def _logit(names: tuple[str, ...], did: np.ndarray, y: np.ndarray) -> tuple[str | None, tuple[OddsRatio, ...]]:
    if len(y) < 10 or y.min() == y.max() or not names:
        return None, ()
    keep = [j for j in range(did.shape[1]) if 0 < did[:, j].sum() < len(y)]
    if not keep:
        return None, ()
    x = np.column_stack([np.ones(len(y)), did[:, keep].astype(float)])
    kept = [names[j] for j in keep]
    with warnings.catch_warnings():
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        try:
            fit = Logit(y, x).fit(disp=0, maxiter=100)
            params, ci, p = fit.params, fit.conf_int(0.05), fit.pvalues
            if not np.all(np.isfinite(ci)):
                raise np.linalg.LinAlgError("infinite confidence interval")
            model = "logit"
        except (PerfectSeparationError, PerfectSeparationWarning, ConvergenceWarning, np.linalg.LinAlgError):
            warnings.simplefilter("ignore")
            try:
                params = Logit(y, x).fit_regularized(method="l1", alpha=1.0, disp=0).params
            except (np.linalg.LinAlgError, ValueError):
                # Collinear actions (always done together) leave nothing to estimate separately.
                return None, ()
            ci, p, model = None, None, "logit_l1_regularized"
    odds = [
        OddsRatio(name, float(math.exp(params[j + 1])),
                  float(math.exp(ci[j + 1][0])) if ci is not None else None,
                  float(math.exp(ci[j + 1][1])) if ci is not None else None,
                  float(p[j + 1]) if p is not None else None)
        for j, name in enumerate(kept)
    ]
    return model, tuple(sorted(odds, key=lambda o: (-o.odds_ratio, o.event)))


def _best_rule(events: list[str], counts: np.ndarray, column: dict[str, int], y: np.ndarray) -> ThresholdRule | None:
    positives, negatives = int(y.sum()), int(len(y) - y.sum())
    if not events or positives == 0 or negatives == 0:
        return None
    best = None
    for thresholds in itertools.product(range(MAX_THRESHOLD + 1), repeat=len(events)):
        conditions = tuple((e, t) for e, t in zip(events, thresholds) if t > 0)
        if not conditions:
            continue
        match = np.ones(len(y), dtype=bool)
        for event, t in conditions:
            match &= counts[:, column[event]] >= t
        tp = int((match & (y == 1)).sum())
        fp = int((match & (y == 0)).sum())
        sensitivity, specificity = tp / positives, 1 - fp / negatives
        j = sensitivity + specificity - 1
        key = (round(j, 12), -len(conditions), int(match.sum()))
        if best is None or key > best[0]:
            precision = tp / (tp + fp) if tp + fp else 0.0
            f1 = 2 * precision * sensitivity / (precision + sensitivity) if precision + sensitivity else 0.0
            matched, unmatched = int(match.sum()), int((~match).sum())
            best = (key, ThresholdRule(
                conditions=conditions,
                description=" and ".join(f"{e} ≥ {t}" for e, t in conditions),
                youden_j=j, sensitivity=sensitivity, specificity=specificity, f1=f1, matched_users=matched,
                retention_matched=tp / matched if matched else None,
                retention_unmatched=(positives - tp) / unmatched if unmatched else None,
            ))
    return best[1] if best else None
