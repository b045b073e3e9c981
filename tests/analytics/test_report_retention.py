"""Retention and churn: weekly cohorts from first-seen, monthly churn after N inactive days."""
from datetime import UTC, date, datetime

import pytest

from analytics.reports.filters import ReportFilters
from analytics.reports.retention import retention_report
from analytics.reports.rollups import rollups_refresh
from tests.factories import make_event, make_report_user, make_segment


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 10, tzinfo=UTC)


def build(application, history: dict, traits: dict | None = None, now=None):
    for name, days in history.items():
        user = make_report_user(application, name, first_seen_at=days[0], traits=(traits or {}).get(name, {}))
        for day in days:
            make_event(user, "$pageview", day)
    rollups_refresh(application_id=application.id, since=None, now=now)


def test_retention_report__weekly_cohorts__share_active_in_each_week_after_first_seen(application):
    build(application, {
        "a": [at(1, 5), at(1, 13), at(2, 3)],  # weeks 0, 1 and 4 after first seen
        "b": [at(1, 7), at(1, 21)],  # weeks 0 and 2
        "c": [at(1, 12), at(1, 19), at(1, 20)],  # weeks 0 and 1 (twice in week 1)
        "d": [at(1, 19)],  # first seen after the range
    })
    now = datetime(2026, 2, 10, 12, tzinfo=UTC)
    filters = ReportFilters.build(application_id=application.id, start=date(2026, 1, 5), end=date(2026, 1, 18), now=now)

    report = retention_report(filters=filters, weeks=4)

    first, second = report.cohorts
    assert (first.cohort_week, first.users, second.cohort_week, second.users) == (
        date(2026, 1, 5), 2, date(2026, 1, 12), 1)
    assert [c.share for c in first.cells] == [1.0, 0.5, 0.5, 0.0, 0.5]
    assert [c.active_users for c in second.cells] == [1, 1, 0, 0, 0]
    # Week 4 of the Jan 5 cohort ends after Feb 10 for its last member; week 3 has ended.
    assert [c.complete for c in first.cells] == [True, True, True, True, False]
    assert report.rows()[0] == {"cohort_week": "2026-01-05", "users": 2, "week_0": 1.0, "week_1": 0.5,
                                "week_2": 0.5, "week_3": 0.0, "week_4": 0.5}


@pytest.fixture
def months(application):
    build(application, {
        "u1": [at(12, 10, 2025), at(12, 20, 2025), at(1, 5)],  # churns Feb 4
        "u2": [at(12, 15, 2025), at(1, 25), at(2, 10), at(3, 20)],  # churns Jan 14, comes back
        "u3": [at(12, 20, 2025), at(1, 10), at(1, 30), at(2, 20), at(3, 15)],  # never churns
        "u4": [at(1, 15)],  # churns Feb 14
        "u5": [at(2, 5)],  # churns in March
    }, traits={"u1": {"persona": "founder"}, "u4": {"persona": "founder"}})
    make_segment(application, name="Founders", is_persona=True)
    return application


def test_retention_report__monthly_churn__share_of_active_at_start_who_go_quiet(months):
    filters = ReportFilters.build(application_id=months.id, start=date(2026, 1, 1), end=date(2026, 2, 28),
                                  now=datetime(2026, 3, 31, tzinfo=UTC))

    report = retention_report(filters=filters, inactive_days=30)

    assert [(m.month, m.active_at_start, m.churned) for m in report.churn] == [
        (date(2026, 1, 1), 3, 1), (date(2026, 2, 1), 4, 2)]
    assert [m.churn_rate for m in report.churn] == pytest.approx([1 / 3, 0.5])
    (founders,) = report.churn_by_segment
    assert (founders.active_at_start, founders.churned) == (3, 2)


def test_retention_report__no_users__empty_table_and_no_rates(application):
    filters = ReportFilters.build(application_id=application.id, start=date(2026, 1, 1), end=date(2026, 1, 31),
                                  now=datetime(2026, 3, 2, tzinfo=UTC))

    report = retention_report(filters=filters)

    assert report.cohorts == ()
    assert [(m.active_at_start, m.churn_rate) for m in report.churn] == [(0, None)]
