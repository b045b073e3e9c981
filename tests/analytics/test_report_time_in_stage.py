"""Time in stage: Kaplan–Meier over stays from consecutive transitions, censored at "now"."""
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pytest
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from analytics.reports.filters import ReportFilters
from analytics.reports.time_in_stage import time_in_stage_report
from tests.factories import make_report_user, make_segment, make_transition

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)
HOUR = 3600.0


def at(day: int, hour: int = 0, month: int = 1) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


def january(application, **kwargs) -> ReportFilters:
    return ReportFilters.build(application_id=application.id, start=date(2026, 1, 1), end=date(2026, 1, 31),
                               now=NOW, **kwargs)


# (name, persona, entered onboarding, hours in onboarding or None = still there)
STAYS = [
    ("a", "founder", at(10), 10),
    ("b", "dev", at(11), 20),
    ("c", "founder", at(12), 30),
    ("e", "founder", at(14), 40),
    ("h", "dev", at(16), 50),
    ("g", "dev", at(28), 144),  # leaves after the range ends: still a finished stay
    ("d", "dev", at(31), None),  # still in onboarding: censored at now
]


@pytest.fixture
def stays(application):
    for name, persona, entered, hours in STAYS:
        user = make_report_user(application, name, first_seen_at=entered, traits={"persona": persona})
        make_transition(user, "onboarding", entered)
        if hours is not None:
            make_transition(user, "activation", entered + timedelta(hours=hours), from_stage="onboarding")
    before = make_report_user(application, "early", first_seen_at=at(30, month=12) - timedelta(days=365))
    make_transition(before, "onboarding", datetime(2025, 12, 31, tzinfo=UTC))  # entered before the range
    make_segment(application, name="Founders", is_persona=True)
    return application


def _durations(persona: str | None = None):
    censor_at = (NOW - at(31)).total_seconds()
    rows = [(hours * HOUR if hours else censor_at, 1 if hours else 0) for _, p, _, hours in STAYS
            if persona is None or (p == "founder") == (persona == "founder")]
    return np.array([r[0] for r in rows]), np.array([r[1] for r in rows])


def test_time_in_stage__one_user_still_in_stage__censored_not_dropped(stays):
    report = time_in_stage_report(filters=january(stays))

    onboarding = next(s for s in report.stages if s.slug == "onboarding")
    assert (onboarding.survival.entries, onboarding.survival.finished, onboarding.survival.censored) == (7, 6, 1)
    # By hand: S(10h)=6/7, S(20h)=5/7, S(30h)=4/7, S(40h)=3/7 < 1/2, S(50h)=2/7, S(144h)=1/7 < 1/4.
    assert onboarding.survival.median_seconds == 40 * HOUR
    assert onboarding.survival.p25_seconds == 20 * HOUR
    assert onboarding.survival.p75_seconds == 144 * HOUR
    time, status = _durations()
    assert onboarding.survival.median_seconds == pytest.approx(SurvfuncRight(time, status).quantile(0.5))


def test_time_in_stage__everyone_still_in_stage__no_median_and_not_longest(stays):
    report = time_in_stage_report(filters=january(stays))

    activation = next(s for s in report.stages if s.slug == "activation")
    assert activation.survival.finished == 0
    assert activation.survival.censored == 5  # g entered activation in February
    assert activation.survival.median_seconds is None
    assert report.longest_stage == "onboarding"


def test_time_in_stage__persona_segments__medians_and_logrank_match_statsmodels(stays):
    report = time_in_stage_report(filters=january(stays))

    onboarding = next(s for s in report.stages if s.slug == "onboarding")
    groups = {g.group: g.survival for g in onboarding.by_segment}
    assert set(groups) == {"founders", "other"}
    for label, persona in (("founders", "founder"), ("other", "dev")):
        time, status = _durations(persona)
        assert groups[label].entries == len(time)
        assert groups[label].median_seconds == pytest.approx(SurvfuncRight(time, status).quantile(0.5))
    assert groups["founders"].median_seconds == 30 * HOUR  # 10, 30, 40: S(30h) = 1/3
    time, status = _durations()
    group = np.array([0 if p == "founder" else 1 for _, p, _, _ in STAYS])
    assert onboarding.logrank_p_value == pytest.approx(survdiff(time, status, group)[1])


def test_time_in_stage__no_transitions__empty_stages(application):
    report = time_in_stage_report(filters=january(application))

    assert all(s.survival.entries == 0 and s.survival.median_seconds is None for s in report.stages)
    assert report.longest_stage is None
    assert report.to_dict()["stages"][0]["survival"]["median_seconds"] is None
