"""Journey funnel: cohort of users first seen in the range, furthest stage reached, friction."""
from datetime import UTC, date, datetime

import pytest

from analytics.reports.filters import ReportFilters
from analytics.reports.funnel import funnel_report
from analytics.reports.rollups import rollups_refresh
from tests.factories import (
    make_application,
    make_report_user,
    make_segment,
    make_transition,
)

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def at(day: int, hour: int = 9, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def january(application, segment_id=None) -> ReportFilters:
    return ReportFilters.build(application_id=application.id, start=date(2026, 1, 1), end=date(2026, 1, 31),
                               segment_id=segment_id, now=NOW)


@pytest.fixture
def journey(application):
    """Ten January users: 4 stay at sign-up, 3 reach onboarding, 2 activation, 1 jumps to advocacy."""
    users = []
    for i in range(10):
        traits = {"persona": "founder" if i in (0, 4, 7) else "developer", "seats": {4: 5, 9: 10}.get(i, 1)}
        users.append(make_report_user(application, f"u{i}", first_seen_at=at(1 + i), traits=traits))
    for i in (4, 5, 6):
        make_transition(users[i], "onboarding", at(15))
    for i in (7, 8):
        make_transition(users[i], "onboarding", at(12))
        make_transition(users[i], "activation", at(16))
    make_transition(users[9], "onboarding", at(12))
    make_transition(users[9], "advocacy", at(20))  # skipping stages still passes them
    late = make_report_user(application, "february", first_seen_at=at(3, month=2))
    make_transition(late, "activation", at(4, month=2))
    other = make_application("Other")
    stranger = make_report_user(other, "stranger", first_seen_at=at(5))
    make_transition(stranger, "activation", at(6))
    rollups_refresh(application_id=application.id, since=None, now=NOW)
    return users


def test_funnel_report__january_cohort__reached_counts_and_conversions(journey, application):
    report = funnel_report(filters=january(application))

    assert report.cohort_size == 10
    assert [(s.slug, s.users) for s in report.steps] == [
        ("signup", 10), ("onboarding", 6), ("activation", 3), ("adoption", 1),
        ("retention", 1), ("expansion", 1), ("advocacy", 1),
    ]
    assert [s.conversion_from_previous for s in report.steps] == pytest.approx([1.0, 0.6, 0.5, 1 / 3, 1, 1, 1])
    assert [s.drop_off for s in report.steps] == [0, 4, 3, 2, 0, 0, 0]
    assert report.steps[2].conversion_overall == pytest.approx(0.3)
    assert report.main_friction_stage == "adoption"
    assert [s.slug for s in report.steps if s.is_main_friction] == ["adoption"]


@pytest.mark.parametrize(
    "rule, method, expected",
    [
        ({"trait": "persona", "op": "eq", "value": "founder"}, "sql", [3, 2, 1, 0]),
        ({"trait": "seats", "op": "gte", "value": 5}, "python", [2, 2, 1, 1]),
    ],
    ids=["string-trait-in-sql", "numeric-trait-evaluated-in-python"],
)
def test_funnel_report__segment__only_its_users_counted(journey, application, rule, method, expected):
    segment = make_segment(application, name="Seg", rule=rule)

    report = funnel_report(filters=january(application, segment.id))

    assert report.meta.segment_method == method
    assert [s.users for s in report.steps[:4]] == expected
    assert report.cohort_size == expected[0]


def test_funnel_report__rollup_refreshed__entries_by_day_listed(journey, application):
    rollups_refresh(application_id=application.id, since=None, now=NOW)

    report = funnel_report(filters=january(application))

    entries = {(e.day, e.stage_slug): e.entries for e in report.entries_by_day}
    assert entries[(date(2026, 1, 15), "onboarding")] == 3
    assert entries[(date(2026, 1, 12), "onboarding")] == 3
    assert (date(2026, 2, 4), "activation") not in entries  # outside the range


def test_funnel_report__no_users__empty_funnel_without_friction(application):
    report = funnel_report(filters=january(application))

    assert report.cohort_size == 0
    assert all(s.users == 0 and s.conversion_from_previous is None for s in report.steps)
    assert report.main_friction_stage is None
    assert report.to_dict()["steps"][0]["slug"] == "signup"
