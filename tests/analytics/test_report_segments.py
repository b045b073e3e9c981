"""Segment filters for reports: simple trait rules in SQL, everything else through rules.evaluate."""
from datetime import UTC, date, datetime

import pytest

from analytics.models import EndUser, SegmentMembership
from analytics.reports.segments import rule_to_q, segment_members_refresh, segment_q
from onboarding.rules import UserFacts, evaluate
from tests.factories import (
    make_account_with_traits,
    make_daily_count,
    make_report_user,
    make_segment,
)

NOW = datetime(2026, 1, 20, 12, tzinfo=UTC)
TRAITS = [{"plan": "pro"}, {"plan": "team"}, {"plan": 12}, {"plan": "12"}, {"plan": None}, {}, {"plan": ["pro"]},
          {"plan": True}]


@pytest.fixture
def people(application):
    account = make_account_with_traits(application, "big", size="large")
    return [make_report_user(application, f"u{i}", traits=traits, account=account if i % 2 else None)
            for i, traits in enumerate(TRAITS)]


@pytest.mark.parametrize("rule", [
    {"trait": "plan", "op": "eq", "value": "pro"},
    {"trait": "plan", "op": "eq", "value": "12"},
    {"trait": "plan", "op": "in", "value": ["pro", "team"]},
    {"any": [{"trait": "plan", "op": "eq", "value": "team"}, {"account_trait": "size", "op": "eq", "value": "large"}]},
    {"all": [{"trait": "plan", "op": "eq", "value": "pro"}, {"account_trait": "size", "op": "eq", "value": "large"}]},
    {"all": []},
], ids=["eq", "eq-string-not-number", "in", "any-with-account", "all-with-account", "empty-all"])
def test_rule_to_q__translatable_rule__same_users_as_evaluate(people, rule):
    q = rule_to_q(rule)

    matched = set(EndUser.objects.filter(q).values_list("external_id", flat=True))
    expected = {u.external_id for u in people if evaluate(rule, UserFacts(
        traits=u.traits, account_traits=u.account.traits if u.account else {}))}
    assert matched == expected


@pytest.mark.parametrize("rule", [
    {"trait": "plan", "op": "eq", "value": 12},
    {"trait": "plan", "op": "neq", "value": "pro"},
    {"not": {"trait": "plan", "op": "eq", "value": "pro"}},
    {"event": "report_viewed"},
    {"trait": "contains", "op": "eq", "value": "x"},
], ids=["number", "neq", "not", "behaviour", "lookup-named-key"])
def test_rule_to_q__other_rules__not_translated(rule):
    assert rule_to_q(rule) is None


def test_segment_q__behaviour_rule__evaluated_in_python_and_materialised(people, application):
    make_daily_count(people[0], "report_viewed", date(2026, 1, 19), 3)
    make_daily_count(people[1], "report_viewed", date(2025, 12, 1), 5)  # outside the 7-day window
    segment = make_segment(application, name="Readers", rule={"event": "report_viewed", "min_count": 2,
                                                               "within_days": 7})

    q, method = segment_q(segment, now=NOW)

    assert method == "python"
    assert list(EndUser.objects.filter(q).values_list("external_id", flat=True)) == ["u0"]
    assert segment_members_refresh(segment=segment, now=NOW) == 1  # refreshing again: same members
    assert SegmentMembership.objects.filter(segment=segment).count() == 1
