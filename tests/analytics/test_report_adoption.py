"""Feature adoption: share of active users per feature, weekly trend, breadth by retention."""
from datetime import UTC, date, datetime

import pytest

from analytics.reports.adoption import feature_adoption_report
from analytics.reports.filters import ReportFilters
from analytics.reports.rollups import rollups_refresh
from tests.factories import make_event, make_report_user

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
FEATURES = ("integration_connected", "teammate_invited", "report_viewed")


def at(day: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=UTC)


def january(application) -> ReportFilters:
    return ReportFilters.build(application_id=application.id, start=date(2026, 1, 1), end=date(2026, 1, 31), now=NOW)


@pytest.fixture
def activity(application):
    history = {
        "a": (at(5), [("integration_connected", at(5)), ("teammate_invited", at(6)), ("$pageview", at(3, 2))]),
        "b": (at(5), [("$pageview", at(5)), ("report_viewed", at(13))]),
        "c": (at(6), [("$pageview", at(6))]),
        "d": (at(28), [("integration_connected", at(28))]),  # week 4 not over yet
        "e": (at(10, 2), [("integration_connected", at(10, 2))]),  # not active in January
    }
    for name, (first_seen, events) in history.items():
        user = make_report_user(application, name, first_seen_at=first_seen)
        for event, when in events:
            make_event(user, event, when)
    rollups_refresh(application_id=application.id, since=None, now=NOW)
    return application


def test_feature_adoption__january__share_of_active_users_per_feature(activity):
    report = feature_adoption_report(filters=january(activity), features=FEATURES)

    assert report.active_users == 4
    assert [(f.feature, f.users, f.share_of_active) for f in report.adoption] == [
        ("integration_connected", 2, 0.5), ("teammate_invited", 1, 0.25), ("report_viewed", 1, 0.25),
    ]


def test_feature_adoption__iso_weeks__trend_per_week(activity):
    report = feature_adoption_report(filters=january(activity), features=FEATURES)

    weekly = {(w.week, w.feature): (w.active_users, w.users) for w in report.weekly}
    assert weekly[(date(2026, 1, 5), "integration_connected")] == (3, 1)
    assert weekly[(date(2026, 1, 12), "report_viewed")] == (1, 1)
    assert weekly[(date(2026, 1, 26), "integration_connected")] == (1, 1)
    assert {w.week for w in report.weekly} == {date(2026, 1, 5), date(2026, 1, 12), date(2026, 1, 26)}


def test_feature_adoption__breadth__split_by_week_four_retention(activity):
    report = feature_adoption_report(filters=january(activity), features=FEATURES)

    breadth = {b.features_used: (b.retained, b.churned, b.not_yet_known) for b in report.breadth}
    assert breadth == {0: (0, 1, 0), 1: (0, 1, 1), 2: (1, 0, 0), 3: (0, 0, 0)}


def test_feature_adoption__no_activity__empty_shares(application):
    report = feature_adoption_report(filters=january(application))

    assert report.active_users == 0
    assert all(f.users == 0 and f.share_of_active is None for f in report.adoption)
    assert report.weekly == ()
    assert sum(b.retained + b.churned + b.not_yet_known for b in report.breadth) == 0
