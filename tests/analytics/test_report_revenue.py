"""Revenue: ARPU per month, paying-user churn, CLV = ARPU / churn, by segment and cohort."""
from datetime import UTC, date, datetime

import pytest

from analytics.reports.filters import ReportFilters
from analytics.reports.revenue import revenue_report
from analytics.reports.rollups import rollups_refresh
from tests.factories import make_event, make_report_user, make_segment

NOW = datetime(2026, 4, 15, tzinfo=UTC)


def at(month: int, day: int, year: int = 2026) -> datetime:
    return datetime(year, month, day, 10, tzinfo=UTC)


def quarter(application) -> ReportFilters:
    return ReportFilters.build(application_id=application.id, start=date(2026, 1, 1), end=date(2026, 3, 31), now=NOW)


@pytest.fixture
def payments(application):
    plans = {
        "r1": (at(12, 1, 2025), [(at(12, 10, 2025), 100), (at(1, 10), 100), (at(2, 10), 100), (at(2, 11), "oops"),
                                 (at(3, 10), 100)]),
        "r2": (at(1, 2), [(at(1, 5), 50), (at(2, 5), 50)]),  # stops paying in March
        "r3": (at(1, 3), [(at(1, 20), 30), (at(1, 25), 20)]),  # two payments in January, none in February
        "r4": (at(12, 2, 2025), [(at(12, 15, 2025), 40)]),  # stops paying in January
    }
    for name, (first_seen, paid) in plans.items():
        user = make_report_user(application, name, first_seen_at=first_seen,
                                traits={"persona": "founder" if name == "r1" else "dev"})
        for when, amount in paid:
            make_event(user, "subscription_paid", when, amount=amount)
    make_segment(application, name="Founders", is_persona=True)
    rollups_refresh(application_id=application.id, since=None, now=NOW)
    return application


def test_revenue_report__three_months__arpu_and_churn_per_month(payments):
    report = revenue_report(filters=quarter(payments))

    assert [(m.revenue, m.paying_users) for m in report.months] == [(200.0, 3), (150.0, 2), (100.0, 1)]
    assert [m.arpu for m in report.months] == pytest.approx([200 / 3, 75.0, 100.0])
    assert [(m.previous_paying_users, m.churned_users) for m in report.months] == [(2, 1), (3, 1), (2, 1)]
    assert [m.churn_rate for m in report.months] == pytest.approx([0.5, 1 / 3, 0.5])


def test_revenue_report__summary__clv_is_arpu_times_expected_lifetime(payments):
    report = revenue_report(filters=quarter(payments))

    assert report.summary.revenue == 450.0
    assert report.summary.arpu == pytest.approx(75.0)  # 450 over 6 paying-user-months
    assert report.summary.monthly_churn == pytest.approx(3 / 7)
    assert report.summary.clv == pytest.approx(75.0 * 7 / 3)


def test_revenue_report__by_cohort_and_segment__own_summaries(payments):
    report = revenue_report(filters=quarter(payments))

    (january,) = report.by_cohort
    assert (january.group, january.users) == ("2026-01", 2)
    assert (january.summary.arpu, january.summary.monthly_churn, january.summary.clv) == pytest.approx(
        (50.0, 2 / 3, 75.0))
    (founders,) = report.by_segment
    assert founders.summary.monthly_churn == 0.0
    assert founders.summary.clv is None  # nobody left: lifetime unknown


def test_revenue_report__no_payments__zero_revenue_and_no_clv(application):
    report = revenue_report(filters=quarter(application))

    assert [m.revenue for m in report.months] == [0.0, 0.0, 0.0]
    assert (report.summary.arpu, report.summary.monthly_churn, report.summary.clv) == (None, None, None)
