"""Report rollups: whole days recomputed and upserted, so refreshing again changes nothing."""
from datetime import UTC, date, datetime, timedelta

from analytics.models import (
    EventNameDaily,
    ReportRollupState,
    StageEntryDaily,
    UserDayActivity,
)
from analytics.reports.rollups import rollups_refresh, rollups_refresh_if_stale
from analytics.tasks_reports import reports_rollups_refresh, reports_rollups_refresh_all
from tests.factories import (
    make_application,
    make_event,
    make_report_user,
    make_transition,
)

NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)


def at(day: int, hour: int) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


def snapshot(application):
    return (
        sorted(UserDayActivity.objects.filter(application=application).values_list("user__external_id", "day", "events")),
        sorted(EventNameDaily.objects.filter(application=application).values_list("day", "name", "events", "users")),
        sorted(StageEntryDaily.objects.filter(application=application).values_list("stage__slug", "day", "entries")),
    )


def test_rollups_refresh__run_twice__same_rows(application):
    alice = make_report_user(application, "alice", first_seen_at=at(10, 8))
    bob = make_report_user(application, "bob", first_seen_at=at(10, 9))
    for user, hour in ((alice, 8), (alice, 20), (bob, 9)):
        make_event(user, "report_viewed", at(10, hour))
    make_transition(alice, "onboarding", at(10, 8))

    rollups_refresh(application_id=application.id, since=None, now=NOW)
    first = snapshot(application)
    rollups_refresh(application_id=application.id, since=None, now=NOW)

    assert snapshot(application) == first
    activity, names, stages = first
    assert activity == [("alice", date(2026, 1, 10), 2), ("bob", date(2026, 1, 10), 1)]
    assert names == [(date(2026, 1, 10), "report_viewed", 3, 2)]
    assert stages == [("onboarding", date(2026, 1, 10), 1)]


def test_rollups_refresh__since_mid_day__whole_day_recomputed_earlier_days_kept(application):
    alice = make_report_user(application, "alice", first_seen_at=at(9, 8))
    make_event(alice, "report_viewed", at(9, 8))
    make_event(alice, "report_viewed", at(10, 8))
    rollups_refresh(application_id=application.id, since=None, now=NOW)
    make_event(alice, "report_viewed", at(10, 20))  # arrives later, same day

    rollups_refresh(application_id=application.id, since=at(10, 12), now=NOW + timedelta(hours=1))

    activity, names, _ = snapshot(application)
    assert activity == [("alice", date(2026, 1, 9), 1), ("alice", date(2026, 1, 10), 2)]
    assert names[-1] == (date(2026, 1, 10), "report_viewed", 2, 1)
    state = ReportRollupState.objects.get(application=application)
    assert state.refreshed_since == datetime(2026, 1, 10, tzinfo=UTC)


def test_reports_rollups_refresh__task_and_fan_out__rollups_written_per_application(application):
    other = make_application("Other")
    for app in (application, other):
        make_event(make_report_user(app, "u", first_seen_at=at(10, 8)), "report_viewed", at(10, 8))

    assert reports_rollups_refresh.delay(application.id).get()["user_days"] == 1
    assert reports_rollups_refresh_all.delay().get() == 2

    assert UserDayActivity.objects.filter(application=other).count() == 1


def test_rollups_refresh_if_stale__fresh_state__nothing_done(application, settings):
    settings.WAYLINE_REPORTS_REFRESH_ON_READ = True
    make_event(make_report_user(application, "u", first_seen_at=at(10, 8)), "report_viewed", at(10, 8))

    assert rollups_refresh_if_stale(application_id=application.id, now=NOW) is not None
    assert rollups_refresh_if_stale(application_id=application.id, now=NOW + timedelta(minutes=1)) is None
    assert UserDayActivity.objects.filter(application=application).count() == 1
