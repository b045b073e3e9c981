"""Aha-moment finder: early actions vs week-4 retention, logistic regression, best threshold rule."""
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from statsmodels.discrete.discrete_model import Logit

from analytics.reports.aha import aha_report
from analytics.reports.filters import ReportFilters
from analytics.reports.rollups import rollups_refresh
from tests.factories import make_event, make_report_user

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
EVENTS = ("integration_connected", "teammate_invited", "widget_customized")

# (integrations, invites, widgets, retained) per user: 20 users, 8 retained.
USERS = (
    [(1, 2, 1, True)] + [(1, 2, 0, True)] * 4 + [(1, 2, 0, False)]  # connected and invited twice: 5 of 6
    + [(1, 1, 0, True)] + [(1, 1, 0, False)] * 3  # connected, invited once: 1 of 4
    + [(0, 2, 0, True)] + [(0, 2, 1, False)] + [(0, 2, 0, False)] * 2  # invited twice only: 1 of 4
    + [(0, 0, 0, True)] + [(0, 0, 1, False)] + [(0, 0, 0, False)] * 4  # nothing: 1 of 6
)


def january(application) -> ReportFilters:
    return ReportFilters.build(application_id=application.id, start=date(2026, 1, 1), end=date(2026, 1, 31), now=NOW)


def build(application, users):
    for i, (integrations, invites, widgets, retained) in enumerate(users):
        first_seen = datetime(2026, 1, 5 + i % 10, 9, tzinfo=UTC)
        user = make_report_user(application, f"u{i}", first_seen_at=first_seen)
        make_event(user, "$pageview", first_seen)
        for name, count in zip(EVENTS, (integrations, invites, widgets)):
            for k in range(count):
                make_event(user, name, first_seen + timedelta(days=1, minutes=k))
        if retained:
            make_event(user, "$pageview", first_seen + timedelta(days=30))
        elif i == len(users) - 1:
            make_event(user, "integration_connected", first_seen + timedelta(days=10))  # too late to count
    rollups_refresh(application_id=application.id, since=None, now=NOW)


def test_aha_report__early_actions__retention_did_vs_did_not(application):
    build(application, USERS)

    report = aha_report(filters=january(application), candidates=EVENTS)

    assert (report.eligible_users, report.sample_size, report.retention_rate) == (20, 20, 0.4)
    actions = {a.event: a for a in report.actions}
    assert (actions["integration_connected"].users_did, actions["integration_connected"].retained_did) == (10, 6)
    assert actions["integration_connected"].difference == pytest.approx(0.6 - 0.2)
    assert actions["teammate_invited"].difference == pytest.approx(7 / 14 - 1 / 6)
    assert [a.event for a in report.actions] == ["integration_connected", "teammate_invited", "widget_customized"]
    assert report.correlation_only is True


def test_aha_report__logit__odds_ratios_match_statsmodels_on_same_design(application):
    build(application, USERS)

    report = aha_report(filters=january(application), candidates=EVENTS)

    x = np.array([[1.0, i > 0, v > 0, w > 0] for i, v, w, _ in USERS], dtype=float)
    y = np.array([float(r) for *_, r in USERS])
    fit = Logit(y, x).fit(disp=0)
    expected = {name: np.exp(fit.params[j + 1]) for j, name in enumerate(EVENTS)}
    assert report.model == "logit"
    for odds in report.odds_ratios:
        assert odds.odds_ratio == pytest.approx(expected[odds.event])
        assert odds.ci_low < odds.odds_ratio < odds.ci_high
    assert [o.odds_ratio for o in report.odds_ratios] == sorted((o.odds_ratio for o in report.odds_ratios),
                                                                reverse=True)


def test_aha_report__threshold_search__best_youden_rule_combines_two_events(application):
    build(application, USERS)

    report = aha_report(filters=january(application), candidates=EVENTS)

    rule = report.best_rule
    assert rule.description == "integration_connected ≥ 1 and teammate_invited ≥ 2"
    # 5 of the 8 retained match; 1 of the 12 churned does.
    assert rule.sensitivity == pytest.approx(5 / 8)
    assert rule.specificity == pytest.approx(11 / 12)
    assert rule.youden_j == pytest.approx(5 / 8 + 11 / 12 - 1)
    assert report.rule_score == "youden_j"


def test_aha_report__perfect_separation__falls_back_to_regularized_fit(application):
    build(application, [(1, 0, 0, True)] * 6 + [(0, 1, 0, False)] * 6)

    report = aha_report(filters=january(application), candidates=EVENTS[:2])

    assert report.model == "logit_l1_regularized"
    assert all(o.ci_low is None and o.ci_high is None for o in report.odds_ratios)
    assert report.best_rule.description == "integration_connected ≥ 1"


def test_aha_report__sample_cap__bounded_and_stated(application):
    build(application, USERS)

    report = aha_report(filters=january(application), candidates=EVENTS, sample_cap=5)

    assert (report.eligible_users, report.sample_size, report.sample_cap) == (20, 5, 5)


def test_aha_report__no_users__empty_without_model(application):
    report = aha_report(filters=january(application))

    assert (report.sample_size, report.actions, report.model, report.best_rule) == (0, (), None, None)
    assert report.to_dict()["retention_rate"] is None


def test_logit__collinear_and_separating_actions__no_model_instead_of_crash():
    import numpy as np

    from analytics.reports.aha import _logit

    # Given two actions always done by the same users, which also predict retention perfectly
    y = np.array([1] * 5 + [0] * 7)
    did = np.column_stack([y > 0, y > 0, np.arange(12) < 9])
    # When the regression is attempted, then there is no model rather than an exception
    model, odds = _logit(("a", "b", "c"), did, y)
    assert model is None or model.startswith("logit")
    assert isinstance(odds, tuple)
