"""Journey analytics pages in the admin: who may read them, what they show, CSV export, filters."""
import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone
from django.utils.html import escape

from analytics.views.page import PAGES
from onboarding.models import Guide
from tests.factories import (
    make_event,
    make_guide_state,
    make_live_guide,
    make_report_user,
    make_segment,
    make_staff_user,
    make_survey_response,
    make_transition,
)

SLUGS = [page.slug for page in PAGES]
EMPTY_TEXT = {
    "funnel": "No users entered in this period.",
    "time-in-stage": "No stage entries in this period.",
    "guides": "No guide was shown in this period.",
    "feature-adoption": "No active users in this period.",
    "aha": "No users in this period whose retention is known yet.",
    "nps": "No survey answers in this period.",
    "retention": "No users entered in this period.",
    "paths": "No users entered in this period.",
    "journey-map": "No users entered in this period.",
    "revenue": "No subscription_paid events in this period.",
}


def url(slug: str) -> str:
    return f"/admin/journey-analytics/{slug}/"


@pytest.fixture(autouse=True)
def _rollups_refreshed_on_read(settings):
    # The pages read rollups; here they are brought up to date when read, as without a worker.
    settings.WAYLINE_REPORTS_REFRESH_ON_READ = True


@pytest.fixture
def journey(application):
    """Twelve users first seen 40–50 days ago who move through the stages, use features, answer, pay."""
    now = timezone.now()
    make_segment(application, name="Founders", is_persona=True)
    tour = make_live_guide(application, Guide.Kind.TOUR, name="Welcome tour", stages=["onboarding"],
                           goal_event="integration_connected")
    survey = make_live_guide(application, Guide.Kind.SURVEY, name="NPS", survey_kind=Guide.SurveyKind.NPS,
                             stages=["activation"])
    for i in range(12):
        first = now - timedelta(days=50 - i, hours=3)
        user = make_report_user(application, f"u{i}", first_seen_at=first,
                                traits={"persona": "founder" if i % 2 else "manager"})
        make_transition(user, "signup", first)
        make_event(user, "$pageview", first)
        make_guide_state(user, tour, seen_count=1, first_seen_at=first, last_seen_at=first,
                         completed_at=first + timedelta(minutes=5) if i % 3 else None)
        make_event(user, "$guide_step_viewed", first, guide_id=tour.id, step_index=0)
        if i % 3:
            make_event(user, "$guide_step_viewed", first + timedelta(minutes=1), guide_id=tour.id, step_index=1)
        if i < 9:
            make_transition(user, "onboarding", first + timedelta(days=1), from_stage="signup")
            make_event(user, "widget_customized", first + timedelta(days=1))
        if i in (0, 2, 5, 6):
            make_event(user, "report_viewed", first + timedelta(days=2))
        if i in (1, 3, 6, 9):
            make_event(user, "teammate_invited", first + timedelta(days=2))
        if i in (0, 1, 5, 9, 10):  # retained: active in week 4
            make_event(user, "$pageview", first + timedelta(days=29))
        if i < 5:
            make_transition(user, "activation", first + timedelta(days=3), from_stage="onboarding")
            make_event(user, "integration_connected", first + timedelta(days=3))
            make_survey_response(user, survey, 9 if i < 3 else 4, first + timedelta(days=4),
                                 comment="" if i < 3 else "Too hard to set up", stage_slug="activation")
            for month in range(2):
                make_event(user, "subscription_paid", first + timedelta(days=5 + 30 * month), amount=20)
    return application


def test_journey_pages__viewer_every_page__renders_takeaway_and_tables(viewer_client, journey):
    for slug in SLUGS:
        response = viewer_client.get(url(slug))

        assert response.status_code == 200, slug
        body = response.content.decode()
        assert "wl-table" in body, slug
        assert EMPTY_TEXT[slug] not in body, slug
        assert "export=" in body, slug
        assert escape(next(p for p in PAGES if p.slug == slug).summary) in body, slug


@pytest.mark.parametrize("slug", SLUGS, ids=SLUGS)
def test_journey_page__editor__renders_chart_spec_and_takeaway(editor_client, journey, slug):
    response = editor_client.get(url(slug))

    assert response.status_code == 200
    body = response.content.decode()
    assert "wl-callout" in body  # the one-sentence takeaway
    if slug != "journey-map":
        assert 'data-chart="chart-' in body and 'type="application/json"' in body


@pytest.mark.parametrize("slug", SLUGS, ids=SLUGS)
def test_journey_page__no_data__empty_state(viewer_client, application, slug):
    response = viewer_client.get(url(slug))

    assert response.status_code == 200
    assert EMPTY_TEXT[slug] in response.content.decode()


@pytest.mark.parametrize("slug", SLUGS, ids=SLUGS)
def test_journey_page__date_range_excluding_the_data__empty_state(viewer_client, journey, slug):
    response = viewer_client.get(url(slug), {"application": journey.id, "start": "2020-01-01", "end": "2020-03-31"})

    assert response.status_code == 200
    assert EMPTY_TEXT[slug] in response.content.decode()


def test_journey_page__anonymous__redirected_to_login(client, application):
    response = client.get(url("funnel"))

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_journey_page__staff_without_analytics_permission__forbidden(client, application):
    client.force_login(make_staff_user("intern"))

    assert client.get(url("funnel")).status_code == 403
    assert client.get("/admin/journey-analytics/").status_code == 403


@pytest.mark.parametrize("slug,table,header", [
    ("funnel", "steps", ["stage", "users", "conversion_from_previous", "conversion_overall", "drop_off"]),
    ("retention", "cohorts", ["cohort_week", "users", *(f"week_{k}" for k in range(9))]),
    ("nps", "comments", ["responded_at", "kind", "score", "stage", "comment"]),
    ("revenue", "months", ["month", "revenue", "paying_users", "arpu", "churn_rate"]),
], ids=["funnel", "retention", "nps-comments", "revenue"])
def test_journey_page_export__table_key__csv_with_header_row(viewer_client, journey, slug, table, header):
    response = viewer_client.get(url(slug), {"export": table})

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == header
    assert len(rows) > 1


def test_journey_page_export__funnel__numbers_match_the_data(viewer_client, journey):
    rows = list(csv.DictReader(io.StringIO(viewer_client.get(url("funnel"), {"export": "steps"}).content.decode())))

    assert [int(r["users"]) for r in rows[:3]] == [12, 9, 5]


def test_journey_page_every_export_link__answers_csv(viewer_client, journey):
    # Every table on every page links to its CSV, and every link answers.
    for slug in SLUGS:
        page = viewer_client.get(url(slug))
        for key in page.context["result"].sections:
            response = viewer_client.get(url(slug), {"export": key})
            assert response.status_code == 200, (slug, key)
            assert response["Content-Type"].startswith("text/csv"), (slug, key)


def test_journey_page_export__unknown_table__not_found(viewer_client, journey):
    assert viewer_client.get(url("funnel"), {"export": "nope"}).status_code == 404


def test_funnel_page__main_friction_row__highlighted(viewer_client, journey):
    body = viewer_client.get(url("funnel")).content.decode()

    # 12 → 9 → 5 → 0: the step into adoption (0 %) converts worst, and only one row is marked.
    assert body.count('class="wl-highlight"') == 1
    assert "main friction point" in body


def test_journey_page__start_after_end__form_error_no_report(viewer_client, journey):
    response = viewer_client.get(url("funnel"), {"application": journey.id, "start": "2026-02-01", "end": "2026-01-01"})

    assert response.status_code == 200
    assert "The start date must not be after the end date." in response.content.decode()
    assert "result" not in response.context


def test_journey_page__segment_filter__only_its_users(viewer_client, journey):
    founders = journey.segments.get(slug="founders")

    rows = list(csv.DictReader(io.StringIO(viewer_client.get(
        url("funnel"), {"application": journey.id, "segment": founders.id, "export": "steps"}).content.decode())))

    assert int(rows[0]["users"]) == 6  # the odd-numbered users are founders


def test_aha_page__any_data__labelled_correlation_not_causation(viewer_client, journey):
    assert "Correlation, not causation." in viewer_client.get(url("aha")).content.decode()


def test_guides_page__any_data__labelled_observational(viewer_client, journey):
    assert "Observational." in viewer_client.get(url("guides")).content.decode()


def test_journey_index__viewer__links_every_page(viewer_client, application):
    body = viewer_client.get("/admin/journey-analytics/").content.decode()

    for slug in SLUGS:
        assert f'href="{url(slug)}"' in body


def test_admin_index__viewer__analytics_box_links_journey_analytics(viewer_client):
    body = viewer_client.get("/admin/").content.decode()

    assert 'id="wl-analytics-links"' in body
    assert 'href="/admin/journey-analytics/"' in body
