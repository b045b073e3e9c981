"""GET /api/v1/reports/<report>/: staff-only JSON and CSV, scoped to one application."""
from datetime import timedelta

import pytest
from django.utils import timezone as django_timezone

from analytics.reports.registry import REPORTS
from analytics.reports.rollups import rollups_refresh
from tests.factories import (
    make_application,
    make_event,
    make_report_user,
    make_segment,
    make_staff_user,
    make_transition,
)

URL = "/api/v1/reports/{}/"



@pytest.fixture
def recent(application):
    """Two users of ``application`` and one of another application, all first seen yesterday."""
    yesterday = django_timezone.now() - timedelta(days=1)
    for name in ("a", "b"):
        user = make_report_user(application, name, first_seen_at=yesterday, traits={"persona": "founder"})
        make_event(user, "integration_connected", yesterday)
    make_transition(application.end_users.get(external_id="a"), "onboarding", yesterday)
    other = make_application("Other")
    stranger = make_report_user(other, "stranger", first_seen_at=yesterday)
    make_event(stranger, "integration_connected", yesterday)
    make_transition(stranger, "activation", yesterday)
    for app in (application, other):  # as the beat does when tasks are not run in-process
        rollups_refresh(application_id=app.id, since=None)
    return other


def test_report_get__anonymous__refused(client, application):
    response = client.get(URL.format("funnel"), {"application": application.id})

    assert response.status_code in (302, 403)


def test_report_get__staff_without_analytics_permission__forbidden(client, application):
    client.force_login(make_staff_user("intern"))

    assert client.get(URL.format("funnel"), {"application": application.id}).status_code == 403


def test_report_get__superuser__allowed(client, application):
    client.force_login(make_staff_user("root", superuser=True))

    assert client.get(URL.format("funnel"), {"application": application.id}).status_code == 200


@pytest.mark.parametrize("report", sorted(REPORTS), ids=sorted(REPORTS))
def test_report_get__viewer_every_report__json_answer(viewer_client, application, recent, report, settings):
    settings.WAYLINE_REPORTS_REFRESH_ON_READ = True

    response = viewer_client.get(URL.format(report), {"application": application.id})

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["report"] == report
    assert body["meta"]["application_id"] == application.id


def test_report_get__two_applications__other_applications_users_never_counted(viewer_client, application, recent):
    body = viewer_client.get(URL.format("funnel"), {"application": application.id}).json()

    assert body["cohort_size"] == 2
    assert [s["users"] for s in body["steps"][:3]] == [2, 1, 0]  # the stranger reached activation elsewhere


def test_report_get__segment_of_another_application__rejected(viewer_client, application, recent):
    theirs = make_segment(recent, name="Theirs")

    response = viewer_client.get(URL.format("funnel"), {"application": application.id, "segment": theirs.id})

    assert response.status_code == 400


def test_report_get__segment__filters_and_says_how(viewer_client, application, recent):
    founders = make_segment(application, name="Founders")

    body = viewer_client.get(URL.format("funnel"), {"application": application.id, "segment": founders.id}).json()

    assert (body["cohort_size"], body["meta"]["segment_method"]) == (2, "sql")


def test_report_get__csv__main_table_as_text_csv(viewer_client, application, recent):
    response = viewer_client.get(URL.format("funnel"), {"application": application.id, "format": "csv"})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    lines = response.content.decode().splitlines()
    assert lines[0] == "stage,users,conversion_from_previous,conversion_overall,drop_off,main_friction"
    assert lines[1].startswith("signup,2,")


@pytest.mark.parametrize("query, status", [
    ({}, 400),
    ({"application": "x"}, 400),
    ({"application": 999999}, 404),
    ({"start": "2026-13-01"}, 400),
    ({"start": "2026-02-01", "end": "2026-01-01"}, 400),
    ({"interval": "decade"}, 400),
    ({"segment": "founders"}, 400),
], ids=["no-application", "bad-application", "unknown-application", "bad-date", "start-after-end", "bad-option",
        "segment-not-an-id"])
def test_report_get__bad_query__error_with_detail(viewer_client, application, query, status):
    query = {"application": application.id, **query} if "application" not in query and query else query

    response = viewer_client.get(URL.format("nps"), query)

    assert response.status_code == status
    assert response.json()["detail"]


def test_report_get__unknown_report__not_found(viewer_client, application):
    assert viewer_client.get(URL.format("astrology"), {"application": application.id}).status_code == 404
