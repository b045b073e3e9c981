"""Journey map data: per persona and stage, who is there, who stalls, what targets it, the pain point."""
from datetime import UTC, date, datetime, timedelta

import pytest

from analytics.reports.filters import ReportFilters
from analytics.reports.journey_map import journey_map_report
from onboarding.models import Guide
from tests.factories import (
    make_event,
    make_guide_state,
    make_live_guide,
    make_report_user,
    make_segment,
    make_survey_response,
    make_transition,
)

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 1, day, hour, tzinfo=UTC)


@pytest.fixture
def journeys(application):
    make_segment(application, name="Founders", is_persona=True)
    make_segment(application, name="Devs", slug="devs", is_persona=True,
                 rule={"trait": "persona", "op": "eq", "value": "dev"})
    tour = make_live_guide(application, Guide.Kind.TOUR, name="Welcome tour", stages=["onboarding"])
    survey = make_live_guide(application, Guide.Kind.SURVEY, name="NPS")
    # name, persona, stages reached, tour (completed?) or None, last event
    for name, persona, stages, tour_done, last in [
        ("f1", "founder", ["onboarding", "activation"], True, "integration_connected"),
        ("f2", "founder", ["onboarding"], False, "widget_opened"),
        ("f3", "founder", ["onboarding"], False, "widget_opened"),
        ("f4", "founder", [], None, "signup_completed"),
        ("d1", "dev", ["onboarding", "activation"], None, "report_viewed"),
        ("d2", "dev", ["onboarding", "activation"], None, "report_viewed"),
        ("d3", "dev", ["onboarding", "activation"], None, "report_viewed"),
        ("d4", "dev", [], None, "signup_completed"),
    ]:
        user = make_report_user(application, name, first_seen_at=at(5), traits={"persona": persona},
                                stage=stages[-1] if stages else "signup")
        for offset, stage in enumerate(stages):
            make_transition(user, stage, at(10 + offset))
        if tour_done is not None:
            make_guide_state(user, tour, seen_count=1, first_seen_at=at(10, 11), last_seen_at=at(10, 11),
                             completed_at=at(10, 12) if tour_done else None)
        make_event(user, last, at(20))
        make_event(user, "$pageview", at(20) + timedelta(minutes=5))  # page views are not a pain point
    f2 = application.end_users.get(external_id="f2")
    make_survey_response(f2, survey, 10, at(15), stage_slug="onboarding")
    return application


def report_for(application):
    filters = ReportFilters.build(application_id=application.id, start=date(2026, 1, 1), end=date(2026, 1, 31),
                                  now=NOW)
    return {p.persona: p for p in journey_map_report(filters=filters).personas}


def test_journey_map__founders__stall_at_targeted_stage_with_weak_guide(journeys):
    founders = report_for(journeys)["founders"]

    stages = {s.slug: s for s in founders.stages}
    assert [(s.slug, s.reached, s.users_now) for s in founders.stages[:3]] == [
        ("signup", 4, 1), ("onboarding", 3, 2), ("activation", 1, 1)]
    assert stages["onboarding"].conversion_to_next == pytest.approx(1 / 3)
    assert [(g.name, g.shown, g.completion_rate) for g in stages["onboarding"].guides] == [
        ("Welcome tour", 3, pytest.approx(1 / 3))]
    assert (stages["onboarding"].nps, stages["onboarding"].nps_responses) == (100.0, 1)
    assert founders.biggest_drop_off_stage == "onboarding"
    assert (founders.pain_point_event, founders.pain_point_users) == ("widget_opened", 2)
    assert founders.opportunity == ("Welcome tour targets onboarding but only 33 % complete it; 67 % stall here; "
                                    "the most common last event before they stop is widget_opened")


def test_journey_map__devs__untargeted_stage_called_out(journeys):
    devs = report_for(journeys)["devs"]

    assert devs.biggest_drop_off_stage == "activation"
    assert devs.opportunity.startswith("no guide targets activation; 100 % stall here")
    assert devs.pain_point_event == "report_viewed"


def test_journey_map__no_personas_no_users__everyone_with_empty_stages(application):
    (everyone,) = report_for(application).values()

    assert (everyone.persona, everyone.cohort_size, everyone.opportunity) == ("everyone", 0, None)
    assert all(s.reached == 0 and s.users_now == 0 for s in everyone.stages)
