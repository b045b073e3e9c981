"""Report snapshots: computed by a task, served to pages (and the journey map to the API) with their time."""
from datetime import UTC, datetime, timedelta

import pytest
from django.core.cache import cache

from analytics.models import ReportSnapshot
from analytics.reports.filters import ReportFilters
from analytics.reports.journey_map import journey_map_report
from analytics.reports.registry import REPORTS
from analytics.reports.rollups import rollups_refresh
from analytics.reports.snapshots import report_snapshot_get, report_snapshot_refresh, snapshot_range
from analytics.tasks_reports import reports_snapshots_refresh_all
from onboarding.models import Guide
from tests.factories import (
    make_application,
    make_event,
    make_guide_state,
    make_live_guide,
    make_report_user,
    make_segment,
    make_survey_response,
    make_transition,
)

NOW = datetime(2026, 3, 10, 12, tzinfo=UTC)



@pytest.fixture(autouse=True)
def _no_refresh_pending(application):
    # The "refresh already asked" mark lives in the shared cache (Redis when configured).
    cache.delete(f"wayline:snapshot:journey-map:{application.id}")
    yield
    cache.delete(f"wayline:snapshot:journey-map:{application.id}")


@pytest.fixture
def personas(application):
    make_segment(application, name="Founders", is_persona=True)
    for index, persona in enumerate(["founder", "founder", "dev"]):
        user = make_report_user(application, f"u{index}", first_seen_at=NOW - timedelta(days=20),
                                traits={"persona": persona}, stage="onboarding")
        make_transition(user, "onboarding", NOW - timedelta(days=19 - index))
        make_event(user, "widget_opened", NOW - timedelta(days=5))
        make_event(user, "integration_connected", NOW - timedelta(days=19))
        make_event(user, "subscription_paid", NOW - timedelta(days=40 - 20 * index), amount=20 + index)
    survey = make_live_guide(application, Guide.Kind.SURVEY, name="NPS")
    tour = make_live_guide(application, Guide.Kind.TOUR, name="Tour", stages=["onboarding"])
    for index, user in enumerate(application.end_users.order_by("external_id")):
        make_survey_response(user, survey, 6 + 2 * index, NOW - timedelta(days=3), comment="slow", stage_slug="onboarding")
        make_guide_state(user, tour, seen_count=1, first_seen_at=NOW - timedelta(days=18),
                         completed_at=NOW - timedelta(days=17) if index else None)
    rollups_refresh(application_id=application.id, since=None, now=NOW)
    return application


def test_report_snapshot_get__stored__same_report_as_computing_it(personas):
    report_snapshot_refresh(application_id=personas.id, report="journey-map", now=NOW)
    start, end = snapshot_range(NOW)

    snapshot = report_snapshot_get(application_id=personas.id, report="journey-map", now=NOW + timedelta(minutes=1))

    live = journey_map_report(filters=ReportFilters.build(application_id=personas.id, start=start, end=end, now=NOW))
    assert snapshot.report == live
    assert snapshot.report.personas[0].cohort_size == 2
    assert (snapshot.computed_at, snapshot.stale) == (NOW, False)


@pytest.mark.parametrize("report", sorted(REPORTS), ids=sorted(REPORTS))
def test_report_snapshot_refresh__every_report__read_back_equal_to_the_computed_one(personas, report):
    start, end = snapshot_range(NOW)
    live = REPORTS[report].build(filters=ReportFilters.build(application_id=personas.id, start=start, end=end, now=NOW))

    report_snapshot_refresh(application_id=personas.id, report=report, now=NOW)

    assert report_snapshot_get(application_id=personas.id, report=report, now=NOW).report == live


def test_report_snapshot_get__none_stored__computed_once_then_read(personas):
    first = report_snapshot_get(application_id=personas.id, report="journey-map", now=NOW)
    second = report_snapshot_get(application_id=personas.id, report="journey-map", now=NOW + timedelta(minutes=5))

    assert ReportSnapshot.objects.filter(application=personas).count() == 1
    assert first.computed_at == second.computed_at == NOW


def test_report_snapshot_get__stale__served_and_refresh_asked_once(personas):
    report_snapshot_refresh(application_id=personas.id, report="journey-map", now=NOW)
    asked = []
    later = NOW + timedelta(hours=2)

    snapshots = [report_snapshot_get(application_id=personas.id, report="journey-map", now=later,
                                     refresh_later=asked.append) for _ in range(2)]

    assert [s.stale for s in snapshots] == [True, True]
    assert snapshots[0].computed_at == NOW
    assert asked == [personas.id]  # the second view does not queue another refresh


def test_reports_snapshots_refresh_all__beat_task__one_snapshot_per_application(personas):
    other = make_application("Other")

    assert reports_snapshots_refresh_all.delay().get() == 2 * len(REPORTS)

    assert set(ReportSnapshot.objects.values_list("application_id", "report")) == {
        (app.id, report) for app in (personas, other) for report in REPORTS}


def test_journey_map_page__default_period__served_from_snapshot_with_its_time(viewer_client, personas):
    stored = report_snapshot_refresh(application_id=personas.id, report="journey-map",
                                     now=datetime.now(UTC) - timedelta(minutes=3))

    response = viewer_client.get("/admin/journey-analytics/journey-map/", {"application": personas.id})

    html = response.content.decode()
    assert response.status_code == 200
    assert f"From the snapshot computed {stored.computed_at:%Y-%m-%d %H:%M} UTC" in html
    assert 'name="variant"' not in html


def test_journey_map_page__other_period__computed_for_it(viewer_client, personas):
    response = viewer_client.get("/admin/journey-analytics/journey-map/",
                                 {"application": personas.id, "start": "2026-01-01", "end": "2026-03-10"})

    assert "From the snapshot" not in response.content.decode()
    assert not ReportSnapshot.objects.exists()


def test_report_get__journey_map_without_period__snapshot_time_in_answer(viewer_client, personas):
    response = viewer_client.get("/api/v1/reports/journey-map/", {"application": personas.id})

    body = response.json()
    stored = ReportSnapshot.objects.get(application=personas)
    assert body["snapshot"]["computed_at"] == stored.computed_at.isoformat()
    assert body["meta"]["start"] == stored.start.isoformat()
