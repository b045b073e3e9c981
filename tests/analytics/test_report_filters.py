"""Report filters and JSON conversion shared by every report."""
from datetime import UTC, date, datetime

import pytest

from analytics.reports.filters import ReportFilters, jsonable, months_in_range


def test_report_filters_build__no_dates__last_thirty_days_ending_today():
    filters = ReportFilters.build(application_id=1, now=datetime(2026, 3, 2, 12, tzinfo=UTC))

    assert (filters.start, filters.end) == (date(2026, 2, 1), date(2026, 3, 2))
    assert filters.end_at == datetime(2026, 3, 3, tzinfo=UTC)


def test_report_filters_build__start_after_end__rejected():
    with pytest.raises(ValueError):
        ReportFilters.build(application_id=1, start=date(2026, 2, 2), end=date(2026, 2, 1))


@pytest.mark.parametrize("value, expected", [
    (float("nan"), None), (float("inf"), None), (date(2026, 1, 5), "2026-01-05"), ((1, (2.5,)), [1, [2.5]]),
], ids=["nan", "infinity", "date", "nested-tuples"])
def test_jsonable__values_json_cannot_hold__plain_or_null(value, expected):
    assert jsonable(value) == expected


def test_months_in_range__across_a_year__first_days_of_each_month():
    assert months_in_range(date(2025, 12, 15), date(2026, 2, 1)) == [date(2025, 12, 1), date(2026, 1, 1),
                                                                      date(2026, 2, 1)]
