"""Journey paths: most common sequences of stages and guide interactions, by conversion."""
from datetime import UTC, date, datetime

import pytest

from analytics.reports.filters import ReportFilters
from analytics.reports.paths import paths_report
from onboarding.models import Guide
from tests.factories import (
    make_guide_state,
    make_live_guide,
    make_report_user,
    make_transition,
)

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def january(application) -> ReportFilters:
    return ReportFilters.build(application_id=application.id, start=date(2026, 1, 1), end=date(2026, 1, 31), now=NOW)


@pytest.fixture
def journeys(application):
    checklist = make_live_guide(application, Guide.Kind.CHECKLIST, name="Checklist")
    # user: stages with days; (shown day, completed day) of the checklist or None
    plans = {
        "a": ([("signup", 2), ("onboarding", 3), ("onboarding", 4), ("activation", 5), ("adoption", 6)], (2, None)),
        "b": ([("signup", 2), ("onboarding", 3), ("activation", 4)], (2, None)),
        "c": ([("signup", 2), ("onboarding", 3), ("activation", 4)], None),
        "d": ([("signup", 2), ("onboarding", 5)], (3, 4)),
        "e": ([("signup", 2), ("onboarding", 3)], None),
        "f": ([("signup", 2), ("onboarding", 3)], None),
        "g": ([], None),
    }
    for name, (stages, guide) in plans.items():
        user = make_report_user(application, name, first_seen_at=at(2, 9))
        for stage, day in stages:
            make_transition(user, stage, at(day))
        if guide:
            shown, completed = guide
            make_guide_state(user, checklist, seen_count=1, first_seen_at=at(shown, 11),
                             last_seen_at=at(shown, 11), completed_at=at(completed, 11) if completed else None)
    return application


def test_paths_report__converted_and_not__top_paths_with_counts(journeys):
    report = paths_report(filters=january(journeys))

    assert (report.converted_users, report.not_converted_users, report.sample_size) == (3, 4, 7)
    assert [(p.text, p.users) for p in report.converted] == [
        ("signup → $guide_shown:Checklist → onboarding → activation", 2),
        ("signup → onboarding → activation", 1),
    ]
    assert [(p.text, p.users) for p in report.not_converted] == [
        ("signup → onboarding", 2),
        ("(nothing)", 1),
        ("signup → $guide_shown:Checklist → $guide_completed:Checklist → onboarding", 1),
    ]
    assert report.not_converted[0].share == 0.5


def test_paths_report__max_steps__paths_cut(journeys):
    report = paths_report(filters=january(journeys), max_steps=2)

    assert ("signup", "$guide_shown:Checklist") in {p.path for p in report.not_converted}
    assert all(len(p.path) <= 2 for p in report.converted + report.not_converted)


def test_paths_report__no_users__empty(application):
    report = paths_report(filters=january(application))

    assert (report.sample_size, report.converted, report.not_converted) == (0, (), ())
