"""Guide performance: shown → engaged → completed / dismissed, step drop-off, goal conversion."""
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.models import ChecklistItemCompletion
from analytics.reports.filters import ReportFilters
from analytics.reports.guides import guide_performance_report
from analytics.reports.rollups import rollups_refresh
from onboarding.models import Guide
from tests.factories import (
    make_event,
    make_guide_state,
    make_live_guide,
    make_report_user,
    make_survey_response,
)

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def at(day: int, hour: int = 10, month: int = 1, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, tzinfo=UTC)


def january(application) -> ReportFilters:
    return ReportFilters.build(application_id=application.id, start=date(2026, 1, 1), end=date(2026, 1, 31), now=NOW)


@pytest.fixture
def tour_data(application):
    tour = make_live_guide(application, Guide.Kind.TOUR, name="Welcome tour", stages=["onboarding"],
                           goal_event="integration_connected")
    users = {}
    # name, first shown, last step index viewed, seconds to complete (None: not), dismissed, goal after (days)
    for name, shown, last_step, seconds, dismissed, goal_days in [
        ("t1", at(10), 1, 1800, False, 2),
        ("t2", at(11), 1, 3600, False, 19),  # goal outside the 14-day window
        ("t3", at(12), 0, None, True, None),
        ("t4", at(13), 0, None, False, None),
        ("t5", at(20, month=12, year=2025), 1, 60, False, 1),  # shown before the range
    ]:
        user = users[name] = make_report_user(application, name, first_seen_at=shown, stage="onboarding")
        make_guide_state(user, tour, seen_count=1, first_seen_at=shown, last_seen_at=shown,
                         completed_at=shown + timedelta(seconds=seconds) if seconds else None,
                         dismissed_at=shown + timedelta(minutes=1) if dismissed else None)
        for step in range(last_step + 1):
            make_event(user, "$guide_step_viewed", shown + timedelta(seconds=step), guide_id=tour.id, step_index=step)
        if goal_days:
            make_event(user, "integration_connected", shown + timedelta(days=goal_days))
    # Comparable users: in onboarding, active in January, never shown the tour.
    c1 = make_report_user(application, "c1", first_seen_at=at(5), stage="onboarding")
    make_event(c1, "$pageview", at(5))
    make_event(c1, "integration_connected", at(10))
    c2 = make_report_user(application, "c2", first_seen_at=at(6), stage="onboarding")
    make_event(c2, "$pageview", at(6))
    c3 = make_report_user(application, "c3", first_seen_at=at(6), stage="activation")  # another stage
    make_event(c3, "integration_connected", at(7))
    c4 = make_report_user(application, "c4", first_seen_at=at(3, month=2), stage="onboarding")  # not active in Jan
    make_event(c4, "integration_connected", at(4, month=2))
    rollups_refresh(application_id=application.id, since=None, now=NOW)
    return tour


def test_guide_performance__tour__funnel_and_median_time_to_complete(tour_data, application):
    report = guide_performance_report(filters=january(application))

    (tour,) = report.guides
    assert (tour.shown, tour.engaged, tour.completed, tour.dismissed) == (4, 2, 2, 1)
    assert tour.completion_rate == 0.5
    assert tour.median_seconds_to_complete == pytest.approx(2700)  # median of 1800 s and 3600 s
    assert [(s.step_index, s.users, s.drop_off) for s in tour.steps] == [(0, 4, 0), (1, 2, 2)]


def test_guide_performance__goal_event__exposed_vs_comparable_labelled_observational(tour_data, application):
    report = guide_performance_report(filters=january(application))

    goal = report.guides[0].goal
    assert (goal.exposed_users, goal.exposed_converted) == (4, 1)
    assert (goal.comparison_users, goal.comparison_converted) == (2, 1)
    assert goal.difference == pytest.approx(0.25 - 0.5)
    assert goal.observational is True
    assert "Observational" in goal.note


def test_guide_performance__checklist_bar_survey__engagement_by_kind(application):
    checklist = make_live_guide(application, Guide.Kind.CHECKLIST, name="Setup")
    bar = make_live_guide(application, Guide.Kind.BAR, name="Promo")
    survey = make_live_guide(application, Guide.Kind.SURVEY, name="NPS")
    u1, u2, u3 = (make_report_user(application, f"u{i}", first_seen_at=at(10)) for i in (1, 2, 3))
    for guide, users in ((checklist, (u1, u2)), (bar, (u1, u2, u3)), (survey, (u1, u2))):
        for user in users:
            make_guide_state(user, guide, seen_count=1, first_seen_at=at(10), last_seen_at=at(10))
    ChecklistItemCompletion.objects.create(user=u1, item=checklist.items.get(), completed_at=at(11))
    make_event(u3, "$cta_clicked", at(11), guide_id=str(bar.id))  # ids may arrive as strings
    make_event(u1, "$cta_clicked", at(11), guide_id=checklist.id)  # another guide's click
    make_survey_response(u2, survey, 9, at(11))
    rollups_refresh(application_id=application.id, since=None, now=NOW)

    report = guide_performance_report(filters=january(application))

    engaged = {g.kind: (g.shown, g.engaged) for g in report.guides}
    assert engaged == {"checklist": (2, 1), "bar": (3, 1), "survey": (2, 1)}
    assert all(g.steps == () and g.goal is None for g in report.guides)


def test_guide_performance__no_guides__empty(application):
    report = guide_performance_report(filters=january(application))

    assert report.guides == ()
    assert report.rows() == []
