"""The experiment-variant filter: reports over the users exposed to one variant, from the API and the pages."""
from datetime import timedelta

import pytest
from django.utils import timezone

from analytics.api.report_variants import report_variant_choices, report_variant_filter
from analytics.reports.filters import ReportFilters
from analytics.reports.funnel import funnel_report
from analytics.reports.rollups import rollups_refresh
from tests.factories import (
    make_application,
    make_event,
    make_experiment,
    make_exposure,
    make_report_user,
    make_transition,
)

URL = "/api/v1/reports/{}/"



@pytest.fixture
def exposed(application):
    """Five users first seen yesterday: three exposed to control (one activated), two to treatment (both)."""
    yesterday = timezone.now() - timedelta(days=1)
    experiment = make_experiment(application, start=True, started_at=yesterday - timedelta(days=1))
    variants = {v.key: v for v in experiment.variants.all()}
    for index, key in enumerate(["control", "control", "control", "treatment", "treatment"]):
        user = make_report_user(application, f"u{index}", first_seen_at=yesterday)
        make_event(user, "$pageview", yesterday)
        make_exposure(experiment, variants[key], user, yesterday)
        if index in (0, 3, 4):
            make_transition(user, "onboarding", yesterday + timedelta(minutes=1))
    make_report_user(application, "never-exposed", first_seen_at=yesterday)
    rollups_refresh(application_id=application.id, since=None)
    return variants


def test_funnel_report__variant_filter__only_exposed_users_counted(application, exposed):
    variant = report_variant_filter(application_id=application.id, variant_id=exposed["treatment"].id)

    report = funnel_report(filters=ReportFilters.build(application_id=application.id, variant=variant))

    assert report.cohort_size == 2
    assert [s.users for s in report.steps[:2]] == [2, 2]
    assert report.meta.variant == "Shorter tour: treatment"
    assert report.entries_by_day == ()  # the daily rollup counts everyone


def test_report_variant_filter__variant_of_another_application__value_error(application, exposed):
    other = make_application("Other")

    with pytest.raises(ValueError, match="^variant: no such experiment variant"):
        report_variant_filter(application_id=other.id, variant_id=exposed["control"].id)


def test_report_variant_choices__started_experiment__each_variant_labelled(application, exposed):
    make_experiment(application, name="Draft only")  # not started: nobody can be exposed yet

    assert [label for _, label in report_variant_choices(application_id=application.id)] == [
        "Shorter tour: control", "Shorter tour: treatment"]


@pytest.mark.parametrize("report", ["funnel", "time-in-stage", "guides", "feature-adoption", "retention"],
                         ids=lambda r: r)
def test_report_get__variant__answered_for_the_variant(viewer_client, application, exposed, report):
    response = viewer_client.get(URL.format(report), {"application": application.id,
                                                       "variant": exposed["control"].id})

    assert response.status_code == 200
    assert response.json()["meta"]["variant"] == "Shorter tour: control"


def test_report_get__funnel_by_variant__counts_differ(viewer_client, application, exposed):
    def reached(key):
        body = viewer_client.get(URL.format("funnel"), {"application": application.id,
                                                        "variant": exposed[key].id}).json()
        return [step["users"] for step in body["steps"][:2]]

    assert (reached("control"), reached("treatment")) == ([3, 1], [2, 2])


@pytest.mark.parametrize(
    "report, variant, message",
    [("funnel", "abc", "variant: expected the id of a variant"),
     ("funnel", "999999", "variant: no such experiment variant in this application"),
     ("journey-map", None, "variant: the journey-map report has no experiment-variant filter")],
    ids=["not-a-number", "unknown-id", "journey-map-has-none"],
)
def test_report_get__bad_variant__400_naming_the_parameter(viewer_client, application, exposed, report, variant,
                                                           message):
    response = viewer_client.get(URL.format(report), {"application": application.id,
                                                      "variant": variant or exposed["control"].id})

    assert response.status_code == 400
    assert response.json()["detail"].startswith(message)


def test_funnel_page__variant_chosen__filter_control_and_label_shown(viewer_client, application, exposed):
    response = viewer_client.get("/admin/journey-analytics/funnel/", {"application": application.id,
                                                                       "variant": exposed["treatment"].id})

    html = response.content.decode()
    assert response.status_code == 200
    assert 'name="variant"' in html and "Shorter tour: treatment" in html
    assert "users exposed to Shorter tour: treatment" in html


def test_funnel_page__unknown_variant__form_error_not_500(viewer_client, application, exposed):
    response = viewer_client.get("/admin/journey-analytics/funnel/", {"application": application.id,
                                                                       "variant": "999999"})

    assert response.status_code == 200
    assert "Select a valid choice" in response.content.decode()
