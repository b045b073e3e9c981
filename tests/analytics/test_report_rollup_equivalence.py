"""Rollup-served reports answer what the raw rows answer; refreshing is idempotent and incremental.

Each rollup path is checked against a computation that does not use it: the per-user path of the
same report (a segment holding every user), the raw-event path (another event name carrying the
same payments), or counts made here in Python from the events.
"""
from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.models import (
    CohortDayActivity,
    CohortDayStage,
    Event,
    GuideState,
    UserFeatureWeek,
    UserGuideEvent,
    UserMonthRevenue,
)
from analytics.reports.adoption import feature_adoption_report
from analytics.reports.filters import ReportFilters
from analytics.reports.funnel import funnel_report
from analytics.reports.guides import guide_performance_report
from analytics.reports.retention import retention_report
from analytics.reports.revenue import revenue_report
from analytics.reports.rollups import rollups_refresh
from onboarding.models import Guide
from tests.factories import (
    make_event,
    make_guide_state,
    make_live_guide,
    make_report_user,
    make_segment,
    make_transition,
)

NOW = datetime(2026, 4, 20, 12, tzinfo=UTC)
FEATURES = ("integration_connected", "teammate_invited", "report_viewed")
# Not week-aligned on purpose: Wednesday 7 January to Tuesday 24 February.
START, END = date(2026, 1, 7), date(2026, 2, 24)


def at(month: int, day: int, hour: int = 10) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def filters(application, segment_id=None) -> ReportFilters:
    return ReportFilters.build(application_id=application.id, start=START, end=END, segment_id=segment_id, now=NOW)


def add_history(application, tour, bar, *, late: bool) -> None:
    """Users with stages, product events, guide events and payments; ``late`` adds what happens from
    21 February on (inside an incremental refresh's window)."""
    plan = {
        # name: first seen, stages reached, [(event, at)], payments [(at, amount)]
        "a": (at(1, 5), ["onboarding", "activation"], [("integration_connected", at(1, 6)),
                                                      ("report_viewed", at(1, 13))], [(at(1, 6), 30)]),
        "b": (at(1, 7), ["onboarding"], [("teammate_invited", at(1, 7)), ("teammate_invited", at(2, 24))],
              [(at(1, 8), 30), (at(2, 8), 30)]),
        "c": (at(1, 20), [], [("report_viewed", at(2, 25)), ("report_viewed", at(1, 6))], []),
        "d": (at(2, 10), ["onboarding", "activation", "adoption"], [("integration_connected", at(2, 23)),
                                                                    ("report_viewed", at(3, 2))], [(at(2, 11), 50)]),
    }
    if late:
        plan = {
            "b": (at(1, 7), ["activation"], [("report_viewed", at(2, 23))], [(at(2, 20), 30)]),
            "e": (at(2, 22), ["onboarding"], [("integration_connected", at(2, 23))], [(at(2, 23), 10)]),
        }
    for name, (first_seen, stages, events, payments) in plan.items():
        user = application.end_users.filter(external_id=name).first() or make_report_user(
            application, name, first_seen_at=first_seen)
        base = max(first_seen, at(2, 21)) if late else first_seen
        make_event(user, "$pageview", base)
        for offset, stage in enumerate(stages, start=1):
            make_transition(user, stage, base + timedelta(days=offset))
        for event, when in events:
            make_event(user, event, when)
        for when, amount in payments:
            make_event(user, "subscription_paid", when, amount=amount)
            make_event(user, "paid_copy", when, amount=amount)  # the same payments, summed from raw events
        shown = base + timedelta(hours=1)
        if not GuideState.objects.filter(user=user, guide=tour).exists():
            make_guide_state(user, tour, seen_count=1, first_seen_at=shown, last_seen_at=shown)
            make_guide_state(user, bar, seen_count=1, first_seen_at=shown, last_seen_at=shown)
        for step in range(len(stages)):
            make_event(user, "$guide_step_viewed", shown + timedelta(minutes=step), guide_id=tour.id, step_index=step)
        if len(stages) % 2:
            make_event(user, "$cta_clicked", shown, guide_id=str(bar.id))


@pytest.fixture
def guides(application):
    return (make_live_guide(application, Guide.Kind.TOUR, name="Tour"),
            make_live_guide(application, Guide.Kind.BAR, name="Bar"))


@pytest.fixture
def history(application, guides):
    add_history(application, *guides, late=False)
    add_history(application, *guides, late=True)
    rollups_refresh(application_id=application.id, since=None, now=NOW)
    return application


def rollup_rows(application) -> dict:
    def rows(model, *fields):
        return sorted(model.objects.filter(application=application).values_list(*fields))

    return {
        "guide": rows(UserGuideEvent, "user_id", "guide_id", "kind", "step", "last_at"),
        "feature": rows(UserFeatureWeek, "user_id", "week", "name", "days"),
        "revenue": rows(UserMonthRevenue, "user_id", "month", "amount", "payments"),
        "stage": rows(CohortDayStage, "first_day", "furthest_order", "users"),
        "activity": rows(CohortDayActivity, "first_day", "week", "users"),
    }


def test_funnel__cohort_rollup__same_as_per_user_path(history):
    everyone = make_segment(history, name="Everyone", rule={"all": []})

    rolled_up = funnel_report(filters=filters(history))
    per_user = funnel_report(filters=filters(history, everyone.id))

    assert [(s.slug, s.users, s.drop_off) for s in rolled_up.steps] == [
        (s.slug, s.users, s.drop_off) for s in per_user.steps]
    assert rolled_up.cohort_size == per_user.cohort_size == 4  # b, c, d and e were first seen in the range


def test_retention__cohort_rollup__same_cells_as_per_user_path(history):
    everyone = make_segment(history, name="Everyone", rule={"all": []})

    rolled_up = retention_report(filters=filters(history), weeks=6).cohorts
    per_user = retention_report(filters=filters(history, everyone.id), weeks=6).cohorts

    assert rolled_up == per_user
    assert sum(cell.active_users for row in rolled_up for cell in row.cells) > len(rolled_up)


def test_feature_adoption__week_masks__same_as_counting_events_in_the_range(history):
    report = feature_adoption_report(filters=filters(history), features=FEATURES)

    users = defaultdict(set)
    for user_id, name, timestamp in Event.objects.filter(application=history, name__in=FEATURES).values_list(
            "user_id", "name", "timestamp"):
        if START <= timestamp.date() <= END:
            users[name].add(user_id)
    assert {f.feature: f.users for f in report.adoption} == {name: len(users[name]) for name in FEATURES}
    assert {f.feature: f.users for f in report.adoption} != {name: 0 for name in FEATURES}


def test_guides__engagement_rollup__same_as_counting_guide_events(history, guides):
    tour, bar = guides
    report = {g.guide_id: g for g in guide_performance_report(filters=filters(history)).guides}

    start = datetime.combine(START, datetime.min.time(), tzinfo=UTC)
    shown = set(GuideState.objects.filter(guide=tour, first_seen_at__gte=start,
                                          first_seen_at__lt=start + timedelta(days=(END - START).days + 1))
                .values_list("user_id", flat=True))
    views = defaultdict(set)
    for user_id, properties in Event.objects.filter(name="$guide_step_viewed", timestamp__gte=start).values_list(
            "user_id", "properties"):
        if user_id in shown:
            views[properties["step_index"]].add(user_id)
    assert [(s.step_index, s.users) for s in report[tour.id].steps] == [(k, len(views[k])) for k in sorted(views)]
    assert report[tour.id].engaged == len(set().union(*(views[k] for k in views if k >= 1)))
    clicked = {user_id for user_id, properties in Event.objects.filter(name="$cta_clicked", timestamp__gte=start)
               .values_list("user_id", "properties")}
    assert report[bar.id].engaged == len(clicked & shown) > 0


def test_revenue__month_rollup__same_as_summing_raw_events(history):
    rolled_up = revenue_report(filters=filters(history))
    raw = revenue_report(filters=filters(history), event="paid_copy")

    assert rolled_up.months == raw.months
    assert rolled_up.summary == raw.summary
    assert rolled_up.months[0].revenue > 0


def test_rollups_refresh__incremental_after_new_events__same_as_full_rebuild(application, guides):
    add_history(application, *guides, late=False)
    rollups_refresh(application_id=application.id, since=None, now=at(2, 21))
    add_history(application, *guides, late=True)  # events from 20 February on

    rollups_refresh(application_id=application.id, since=at(2, 20, 8), now=NOW)
    incremental = rollup_rows(application)
    rollups_refresh(application_id=application.id, since=None, now=NOW)

    assert rollup_rows(application) == incremental
    assert any(week == date(2026, 2, 16) for _, week, _, _ in incremental["feature"])


def test_rollups_refresh__incremental_run_twice__nothing_changes(history):
    first = rollup_rows(history)

    for _ in range(2):
        rollups_refresh(application_id=history.id, since=at(2, 20), now=NOW)

    assert rollup_rows(history) == first
