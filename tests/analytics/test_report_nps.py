"""NPS and CSAT: latest answer per user per period, delta-method CI, response rate, follow-ups."""
import math
from datetime import UTC, date, datetime

import pytest

from analytics.reports.filters import ReportFilters
from analytics.reports.nps import survey_report
from analytics.reports.survey_stats import Z95, csat_summary, nps_summary
from onboarding.models import Guide
from tests.factories import (
    make_application,
    make_guide_state,
    make_live_guide,
    make_report_user,
    make_segment,
    make_survey_response,
)

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def at(day: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, 10, tzinfo=UTC)


def two_months(application, **kwargs) -> ReportFilters:
    return ReportFilters.build(application_id=application.id, start=date(2026, 1, 1), end=date(2026, 2, 28),
                               now=NOW, **kwargs)


# user: [(score, when, comment, stage)]
NPS_ANSWERS = {
    "p1": [(10, at(5), "", ""), (3, at(20), "meh", ""), (10, at(3, 2), "", "")],  # Jan counts 3 (latest)
    "p2": [(9, at(6), "", ""), (10, at(4, 2), "", "")],
    "p3": [(9, at(7), "", "")],
    "p4": [(1, at(2), "superseded", ""), (8, at(8), "", "")],  # only the 8 counts
    "p5": [(2, at(9), "Too slow", "onboarding")],
    "p6": [(6, at(5, 2), "Missing export", "activation")],
    "p7": [(9, at(6, 2), "", "")],
}


@pytest.fixture
def answers(application):
    nps = make_live_guide(application, Guide.Kind.SURVEY, name="NPS", survey_kind="nps")
    csat = make_live_guide(application, Guide.Kind.SURVEY, name="CSAT", survey_kind="csat")
    make_segment(application, name="Founders", is_persona=True)
    for name, rows in NPS_ANSWERS.items():
        user = make_report_user(application, name, first_seen_at=at(1),
                                traits={"persona": "founder" if name in ("p2", "p6") else "dev"})
        make_guide_state(user, nps, seen_count=1, first_seen_at=at(2), last_seen_at=at(2))
        for score, when, comment, stage in rows:
            make_survey_response(user, nps, score, when, comment=comment, stage_slug=stage)
    shown_only = make_report_user(application, "q1", first_seen_at=at(1))
    make_guide_state(shown_only, nps, seen_count=1, first_seen_at=at(2), last_seen_at=at(2))
    for i, score in enumerate((5, 4, 2, 3, None)):
        user = make_report_user(application, f"c{i}", first_seen_at=at(1))
        make_guide_state(user, csat, seen_count=1, first_seen_at=at(3), last_seen_at=at(3))
        if score is not None:
            make_survey_response(user, csat, score, at(10))
    other = make_application("Other")
    stranger = make_report_user(other, "stranger", first_seen_at=at(1))
    make_survey_response(stranger, make_live_guide(other, Guide.Kind.SURVEY, name="Theirs"), 0, at(10), comment="x")
    return application


def test_survey_report__repeated_answers__latest_per_user_per_month_counts(answers):
    report = survey_report(filters=two_months(answers), interval="month")

    january, february = report.nps_over_time
    assert (january.period, january.summary.promoters, january.summary.passives, january.summary.detractors) == (
        date(2026, 1, 1), 2, 1, 2)
    assert january.summary.nps == pytest.approx(0.0)
    assert (february.summary.promoters, february.summary.detractors, february.summary.nps) == (3, 1, 50.0)
    assert (report.nps.responses, report.nps.promoters, report.nps.detractors) == (9, 5, 3)


def test_survey_report__nps_interval__delta_method_formula(answers):
    report = survey_report(filters=two_months(answers))

    n, p_p, p_d = 9, 5 / 9, 3 / 9
    half = 100 * Z95 * math.sqrt((p_p + p_d - (p_p - p_d) ** 2) / n)
    assert report.nps.nps == pytest.approx(100 * (p_p - p_d))
    assert (report.nps.ci_low, report.nps.ci_high) == pytest.approx((100 * (p_p - p_d) - half,
                                                                      100 * (p_p - p_d) + half))
    january = report.nps_over_time[0].summary
    assert (january.ci_low, january.ci_high) == pytest.approx((-100 * Z95 * 0.4, 100 * Z95 * 0.4))


def test_survey_report__csat__mean_satisfied_share_and_response_rates(answers):
    report = survey_report(filters=two_months(answers))

    assert (report.csat.responses, report.csat.mean, report.csat.satisfied_share) == (4, 3.5, 0.5)
    half = Z95 * math.sqrt((5 / 3) / 4)  # sample variance of 5, 4, 2, 3 is 5/3
    assert (report.csat.mean_ci_low, report.csat.mean_ci_high) == pytest.approx((3.5 - half, 3.5 + half))
    assert (report.nps_users_shown, report.nps_response_rate) == (8, 7 / 8)
    assert (report.csat_users_shown, report.csat_response_rate) == (5, 4 / 5)


def test_survey_report__follow_ups__detractor_comments_latest_first_never_superseded(answers):
    report = survey_report(filters=two_months(answers))

    assert [f.comment for f in report.detractor_follow_ups] == ["Missing export", "meh", "Too slow"]
    assert report.detractor_follow_ups[0].stage_slug == "activation"


def test_survey_report__by_stage_and_persona__grouped(answers):
    report = survey_report(filters=two_months(answers))

    stages = {g.group: g.nps.nps for g in report.by_stage}
    assert stages["activation"] == -100.0 and stages["onboarding"] == -100.0
    (founders,) = report.by_segment
    assert (founders.group, founders.nps.promoters, founders.nps.detractors) == ("founders", 2, 1)


def test_survey_report__no_answers__empty_scores_never_an_error(application):
    report = survey_report(filters=two_months(application), interval="week")

    assert (report.nps.nps, report.csat.mean, report.nps_response_rate) == (None, None, None)
    assert report.nps_over_time == () and report.detractor_follow_ups == ()


@pytest.mark.parametrize("counts, expected", [((0, 0, 0), None), ((1, 0, 0), 100.0), ((0, 0, 2), -100.0)],
                         ids=["no-responses", "one-promoter", "all-detractors"])
def test_nps_summary__degenerate_counts__score_and_clipped_interval(counts, expected):
    summary = nps_summary(*counts)

    assert summary.nps == expected
    if expected is not None:
        assert -100 <= summary.ci_low <= summary.nps <= summary.ci_high <= 100


def test_csat_summary__single_response__no_mean_interval():
    summary = csat_summary(1, 5, 25, 1)

    assert (summary.mean, summary.mean_ci_low, summary.satisfied_share) == (5.0, None, 1.0)
