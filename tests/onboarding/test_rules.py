"""Tests for the targeting rule language (pure: no Django, no database)."""
import math

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from onboarding.rules import (
    EXAMPLES, KINDS, NODE_KEYS, OPERATORS, RuleError, RuleValidationError, UserFacts, describe,
    ensure_valid_rule, evaluate, referenced_events, referenced_stages, required_counters,
    validate_rule,
)

STAGES = ("signup", "activation", "adoption", "expansion")
OPS_LIST = ", ".join(OPERATORS)


def trait(name, op, value=None, **extra):
    rule = {"trait": name, "op": op, **extra}
    if value is not None:
        rule["value"] = value
    return rule


def facts(traits=None, **kwargs):
    return UserFacts(traits=traits or {}, **kwargs)


# --- evaluate: traits -----------------------------------------------------------------------

TRAIT_CASES = [
    # (rule, traits, expected, id)
    (trait("plan", "eq", "pro"), {"plan": "pro"}, True, "eq__same_string__true"),
    (trait("plan", "eq", "pro"), {"plan": "Pro"}, False, "eq__case_differs__false"),
    (trait("size", "eq", 12), {"size": "12"}, False, "eq__numeric_string__not_coerced"),
    (trait("size", "eq", 1), {"size": 1.0}, True, "eq__int_and_float__equal"),
    (trait("beta", "eq", True), {"beta": 1}, False, "eq__true_and_1__not_equal"),
    (trait("size", "eq", 1), {"size": True}, False, "eq__1_and_true__not_equal"),
    (trait("beta", "eq", False), {"beta": False}, True, "eq__false_and_false__true"),
    (trait("tags", "eq", "a"), {"tags": ["a"]}, False, "eq__list_trait__false"),
    (trait("plan", "neq", "pro"), {"plan": "free"}, True, "neq__different__true"),
    (trait("plan", "neq", "pro"), {"plan": "pro"}, False, "neq__same__false"),
    (trait("size", "neq", 12), {"size": "12"}, True, "neq__other_type__true"),
    (trait("plan", "in", ["pro", "team"]), {"plan": "team"}, True, "in__listed__true"),
    (trait("plan", "in", ["pro", "team"]), {"plan": "free"}, False, "in__not_listed__false"),
    (trait("plan", "in", []), {"plan": "free"}, False, "in__empty_list__false"),
    (trait("size", "in", [1, 2]), {"size": "1"}, False, "in__numeric_string__not_coerced"),
    (trait("plan", "not_in", ["pro"]), {"plan": "free"}, True, "not_in__not_listed__true"),
    (trait("plan", "not_in", ["pro"]), {"plan": "pro"}, False, "not_in__listed__false"),
    (trait("email", "contains", "@acme"), {"email": "jo@acme.io"}, True, "contains__substring__true"),
    (trait("email", "contains", "@acme"), {"email": "jo@x.io"}, False, "contains__no_substring__false"),
    (trait("tags", "contains", "beta"), {"tags": ["alpha", "beta"]}, True, "contains__list_item__true"),
    (trait("tags", "contains", "bet"), {"tags": ["alpha", "beta"]}, False, "contains__list_partial_item__false"),
    (trait("ids", "contains", 3), {"ids": [1, 2, 3]}, True, "contains__number_in_list__true"),
    (trait("ids", "contains", 3), {"ids": "123"}, False, "contains__number_in_string__false"),
    (trait("ids", "contains", "1"), {"ids": 123}, False, "contains__number_trait__false"),
    (trait("size", "gt", 10), {"size": 11}, True, "gt__greater__true"),
    (trait("size", "gt", 10), {"size": 10}, False, "gt__equal__false"),
    (trait("size", "gte", 10), {"size": 10}, True, "gte__equal__true"),
    (trait("size", "lt", 10), {"size": 9.5}, True, "lt__float__true"),
    (trait("size", "lte", 10), {"size": 10.0}, True, "lte__equal_float__true"),
    (trait("size", "lte", 10), {"size": 11}, False, "lte__greater__false"),
    (trait("size", "gt", 10), {"size": "12"}, False, "gt__numeric_string__false"),
    (trait("size", "gt", 0), {"size": True}, False, "gt__boolean__false"),
    (trait("size", "gt", 0), {"size": [5]}, False, "gt__list__false"),
    (trait("size", "gt", 10), {"size": math.inf}, True, "gt__infinity__true"),
    (trait("size", "gt", 10), {"size": math.nan}, False, "gt__nan__false"),
    (trait("plan", "exists"), {"plan": "pro"}, True, "exists_default__present__true"),
    (trait("plan", "exists", True), {"plan": ""}, True, "exists__empty_string__true"),
    (trait("plan", "exists", False), {"plan": "pro"}, False, "exists_false__present__false"),
    (trait("email", "regex", r"@acme\.com$"), {"email": "jo@acme.com"}, True, "regex__matches__true"),
    (trait("email", "regex", r"^acme"), {"email": "jo@acme.com"}, False, "regex__anchored__false"),
    (trait("size", "regex", r"^1"), {"size": 12}, False, "regex__number_trait__false"),
]


@pytest.mark.parametrize("rule, traits, expected", [c[:3] for c in TRAIT_CASES], ids=[c[3] for c in TRAIT_CASES])
def test_evaluate__trait_condition__matches_documented_semantics(rule, traits, expected):
    assert validate_rule(rule) == []
    assert evaluate(rule, facts(traits)) is expected


MISSING_CASES = [
    (trait("plan", "eq", "pro"), False, "eq_is_false"),
    (trait("plan", "neq", "pro"), True, "neq_is_true"),
    (trait("plan", "in", ["pro"]), False, "in_is_false"),
    (trait("plan", "not_in", ["pro"]), True, "not_in_is_true"),
    (trait("plan", "contains", "p"), False, "contains_is_false"),
    (trait("plan", "gt", 1), False, "gt_is_false"),
    (trait("plan", "gte", 1), False, "gte_is_false"),
    (trait("plan", "lt", 1), False, "lt_is_false"),
    (trait("plan", "lte", 1), False, "lte_is_false"),
    (trait("plan", "exists"), False, "exists_default_is_false"),
    (trait("plan", "exists", True), False, "exists_true_is_false"),
    (trait("plan", "exists", False), True, "exists_false_is_true"),
    (trait("plan", "regex", "."), False, "regex_is_false"),
]


@pytest.mark.parametrize("rule, expected", [c[:2] for c in MISSING_CASES], ids=[c[2] for c in MISSING_CASES])
def test_evaluate__trait_missing__only_neq_not_in_and_exists_false_match(rule, expected):
    assert evaluate(rule, facts({"other": "x"})) is expected


@pytest.mark.parametrize("rule, expected", [c[:2] for c in MISSING_CASES], ids=[c[2] for c in MISSING_CASES])
def test_evaluate__trait_null__same_as_missing(rule, expected):
    assert evaluate(rule, facts({"plan": None})) is expected


def test_evaluate__trait_missing__neq_is_true():
    assert evaluate(trait("plan", "neq", "pro"), UserFacts()) is True


def test_evaluate__account_trait__reads_account_traits_not_user_traits():
    rule = {"account_trait": "size", "op": "gte", "value": 11}
    assert evaluate(rule, UserFacts(account_traits={"size": 11})) is True
    assert evaluate(rule, UserFacts(traits={"size": 11})) is False


# --- evaluate: behaviour, stages, combinators -----------------------------------------------

@pytest.mark.parametrize("rule, counts, expected", [
    ({"event": "e"}, {("e", None): 1}, True),
    ({"event": "e"}, {}, False),
    ({"event": "e", "min_count": 3, "within_days": 7}, {("e", 7): 3}, True),
    ({"event": "e", "min_count": 3, "within_days": 7}, {("e", 7): 2}, False),
    ({"event": "e", "min_count": 3, "within_days": 7}, {("e", None): 9, ("e", 14): 9}, False),
    ({"event": "e", "within_days": None}, {("e", None): 1}, True),
], ids=["default_min_1__once_ever__true", "never_done__false", "at_threshold__true", "below_threshold__false",
        "other_windows_ignored__false", "explicit_null_window__ever"])
def test_evaluate__event_condition__compares_count_for_its_window(rule, counts, expected):
    assert evaluate(rule, UserFacts(event_counts=counts)) is expected


@pytest.mark.parametrize("count, expected", [(1, False), (2, True), (3, True)], ids=["1_of_2", "2_of_2", "3_of_2"])
def test_evaluate__distinct_events__reads_sorted_key(count, expected):
    rule = {"distinct_events": ["c", "a", "b"], "min_count": 2, "within_days": 14}
    assert evaluate(rule, UserFacts(distinct_counts={(("a", "b", "c"), 14): count})) is expected


@pytest.mark.parametrize("op, current, reached, expected", [
    ("current", "activation", {"signup", "activation"}, True),
    ("current", "adoption", {"signup", "activation", "adoption"}, False),
    ("reached", "adoption", {"signup", "activation", "adoption"}, True),
    ("reached", "activation", {"signup", "activation"}, True),
    ("reached", "activation", frozenset(), True),
    ("reached", "signup", {"signup"}, False),
    ("current", None, frozenset(), False),
], ids=["current__at_it__true", "current__past_it__false", "reached__past_it__true", "reached__at_it__true",
        "reached__current_stage_only__true", "reached__not_yet__false", "current__no_stage__false"])
def test_evaluate__stage_condition(op, current, reached, expected):
    facts_ = UserFacts(stage=current, reached_stages=frozenset(reached))
    assert evaluate({"stage": "activation", "op": op}, facts_) is expected


@pytest.mark.parametrize("rule, expected", [
    (None, True),
    ({"all": []}, True),
    ({"any": []}, False),
    ({"not": {"all": []}}, False),
    ({"all": [trait("p", "eq", 1), trait("q", "eq", 2)]}, True),
    ({"all": [trait("p", "eq", 1), trait("q", "eq", 3)]}, False),
    ({"any": [trait("p", "eq", 0), trait("q", "eq", 2)]}, True),
    ({"any": [trait("p", "eq", 0), trait("q", "eq", 3)]}, False),
    ({"not": trait("p", "eq", 1)}, False),
], ids=["none__true", "empty_all__true", "empty_any__false", "not_empty_all__false", "all_true__true",
        "all_one_false__false", "any_one_true__true", "any_none_true__false", "not_true__false"])
def test_evaluate__combinators(rule, expected):
    assert evaluate(rule, facts({"p": 1, "q": 2})) is expected


@pytest.mark.parametrize("rule", [{}, [], "plan", {"bogus": 1}], ids=["empty_dict", "list", "string", "no_kind"])
def test_evaluate__not_a_rule__raises_rule_validation_error(rule):
    with pytest.raises(RuleValidationError):
        evaluate(rule, UserFacts())


# --- validate -------------------------------------------------------------------------------

VALID_RULES = [
    (trait("plan", "eq", "pro"), "trait_eq"),
    ({"account_trait": "size", "op": "gte", "value": 10.5}, "account_trait_gte_float"),
    (trait("plan", "exists"), "exists_without_value"),
    (trait("plan", "in", []), "in_empty_list"),
    ({"event": "e", "min_count": 1, "within_days": None}, "event_explicit_defaults"),
    ({"distinct_events": ["a", "b"], "min_count": 2}, "distinct_min_count_equal_to_list"),
    ({"stage": "adoption", "op": "reached"}, "known_stage"),
    ({"not": {"any": [{"all": []}]}}, "nested_combinators"),
]


@pytest.mark.parametrize("rule", [c[0] for c in VALID_RULES], ids=[c[1] for c in VALID_RULES])
def test_validate_rule__valid_rule__no_errors(rule):
    assert validate_rule(rule, known_stages=STAGES) == []


def test_validate_rule__none__no_errors():
    assert validate_rule(None) == []


ERROR_CASES = [
    # (rule, [(path, message)], id)
    (trait("plan", "equals", "pro"),
     [("rule.op", f'unknown operator "equals"; use one of {OPS_LIST}')], "unknown_operator"),
    ({"any": [{"all": []}, {"all": []}, trait("plan", "equals", "pro")]},
     [("rule.any[2].op", f'unknown operator "equals"; use one of {OPS_LIST}')], "unknown_operator__nested_path"),
    ({"trait": "plan", "value": "pro"}, [("rule.op", f'missing "op"; use one of {OPS_LIST}')], "missing_operator"),
    (trait("plan", 3, "pro"), [("rule.op", f"unknown operator 3; use one of {OPS_LIST}")], "operator_not_string"),
    ({}, [("rule", "empty rule; use one of the keys " + ", ".join(KINDS))], "empty_dict"),
    ([trait("p", "eq", 1)], [("rule", 'expected a rule object, got a list; wrap a list of rules in '
                                      '{"all": [...]} or {"any": [...]}')], "list_at_root"),
    ({"all": [1]}, [("rule.all[0]", "expected a rule object, got 1")], "number_in_all"),
    ({"all": ["plan"]}, [("rule.all[0]", 'expected a rule object, got "plan"')], "string_in_all"),
    ({"trai": "plan", "op": "eq", "value": "x"},
     [("rule", "rule has no kind; use one of the keys " + ", ".join(KINDS)),
      ("rule.trai", 'unknown key "trai" (did you mean "trait"?); rules take the keys '
                    + ", ".join(dict.fromkeys(k for ks in NODE_KEYS.values() for k in ks)))], "misspelt_kind"),
    (trait("plan", "eq", "pro", vaule="x"),
     [("rule.vaule", 'unknown key "vaule" (did you mean "value"?); "trait" rules take the keys trait, op, value')],
     "unknown_key_with_suggestion"),
    ({"event": "e", "limit": 3},
     [("rule.limit", 'unknown key "limit"; "event" rules take the keys event, min_count, within_days')],
     "unknown_key_without_suggestion"),
    ({"event": "e", "every day": 3}, [("rule[\"every day\"]", 'unknown key "every day"; "event" rules take '
                                                             "the keys event, min_count, within_days")],
     "unknown_key_not_identifier__bracketed_path"),
    ({"trait": "plan", "event": "e"},
     [("rule", 'a rule has exactly one kind, but this one has 2: "trait" and "event"; '
               'combine rules with {"all": [...]}')], "two_kinds"),
    ({"not": [trait("p", "eq", 1)]},
     [("rule.not", '"not" takes a single rule, not a list; to negate several, write {"not": {"any": [...]}}')],
     "not_with_list"),
    ({"all": {"trait": "p"}}, [("rule.all", '"all" needs a list of rules, got an object')], "all_not_list"),
    ({"any": None}, [("rule.any", '"any" needs a list of rules, got null')], "any_null"),
    (trait("plan", "in", "pro"),
     [("rule.value", '"in" needs a list of values like ["pro", "team"], got "pro"')], "in_needs_list"),
    (trait("plan", "not_in", ["pro", {"a": 1}]),
     [("rule.value[1]", "list items must be strings, numbers or booleans, got an object")], "not_in_bad_item"),
    (trait("plan", "eq", None), [("rule.value", 'missing "value" for "eq"')], "eq_missing_value"),
    ({"trait": "plan", "op": "eq", "value": None},
     [("rule.value", '"eq" needs a string, number or boolean, got null; '
                     'to test for a missing trait use {"op": "exists", "value": false}')], "eq_null"),
    (trait("tags", "contains", ["a"]),
     [("rule.value", '"contains" needs a string, number or boolean, got a list')], "contains_list"),
    (trait("size", "gt", "12"),
     [("rule.value", '"gt" compares numbers, got "12"; write the number without quotes')], "gt_string"),
    (trait("size", "lte", True), [("rule.value", '"lte" compares numbers, got true')], "lte_boolean"),
    (trait("size", "gte", math.inf), [("rule.value", '"gte" compares numbers, got inf')], "gte_infinity"),
    (trait("plan", "exists", "yes"), [("rule.value", '"exists" takes true or false, got "yes"')], "exists_string"),
    (trait("email", "regex", "(unclosed"),
     [("rule.value", "invalid regular expression: missing ), unterminated subpattern at position 0")], "bad_regex"),
    (trait("email", "regex", "a" * 201), [("rule.value", "pattern is 201 characters long; the limit is 200")],
     "regex_too_long"),
    (trait("email", "regex", 5), [("rule.value", '"regex" needs a pattern string, got 5')], "regex_not_string"),
    (trait("", "eq", 1), [("rule.trait", "trait name is empty")], "empty_trait_name"),
    ({"account_trait": 7, "op": "eq", "value": 1}, [("rule.account_trait", "trait name must be a string, got 7")],
     "account_trait_name_not_string"),
    ({"event": " "}, [("rule.event", "event name is empty")], "blank_event_name"),
    ({"event": "e", "min_count": 0},
     [("rule.min_count", '"min_count" must be a whole number of at least 1, got 0')], "min_count_zero"),
    ({"event": "e", "min_count": 2.5},
     [("rule.min_count", '"min_count" must be a whole number of at least 1, got 2.5')], "min_count_float"),
    ({"event": "e", "min_count": True},
     [("rule.min_count", '"min_count" must be a whole number of at least 1, got true')], "min_count_boolean"),
    ({"event": "e", "within_days": -7},
     [("rule.within_days", '"within_days" must be a whole number of days of at least 1 (or null for ever), got -7')],
     "within_days_negative"),
    ({"event": "e", "within_days": "7"},
     [("rule.within_days", '"within_days" must be a whole number of days of at least 1 (or null for ever), '
                           'got "7"')], "within_days_string"),
    ({"distinct_events": []},
     [("rule.distinct_events", '"distinct_events" needs a non-empty list of event names, got a list')],
     "distinct_empty"),
    ({"distinct_events": ["a", "", "a"]},
     [("rule.distinct_events[1]", "event name is empty"),
      ("rule.distinct_events[2]", 'event "a" is listed twice')], "distinct_empty_name_and_duplicate"),
    ({"distinct_events": ["a", "b"], "min_count": 3},
     [("rule.min_count", '"min_count" is 3 but only 2 events are listed, so the rule could never match')],
     "distinct_min_count_above_list"),
    ({"stage": "activaton", "op": "reached"},
     [("rule.stage", 'unknown stage "activaton" (did you mean "activation"?); known stages: '
                     "signup, activation, adoption, expansion")], "unknown_stage_with_suggestion"),
    ({"stage": "churned", "op": "current"},
     [("rule.stage", 'unknown stage "churned"; known stages: signup, activation, adoption, expansion')],
     "unknown_stage"),
    ({"stage": "activation"}, [("rule.op", 'missing "op"; use one of current, reached')], "stage_missing_op"),
    ({"stage": "activation", "op": "eq"},
     [("rule.op", 'unknown stage operator "eq"; use one of current, reached')], "stage_unknown_op"),
    ({"all": [trait("a", "eq", 1), {"not": {"any": [{"event": ""}, trait("b", "gt", "x")]}}]},
     [("rule.all[1].not.any[0].event", "event name is empty"),
      ("rule.all[1].not.any[1].value", '"gt" compares numbers, got "x"; write the number without quotes')],
     "several_errors__each_located"),
]


@pytest.mark.parametrize("rule, expected", [c[:2] for c in ERROR_CASES], ids=[c[2] for c in ERROR_CASES])
def test_validate_rule__invalid_rule__located_errors(rule, expected):
    errors = validate_rule(rule, known_stages=STAGES)
    assert [(error.path, error.message) for error in errors] == expected


def test_validate_rule__unknown_stage_without_known_stages__accepted():
    assert validate_rule({"stage": "anything", "op": "current"}) == []


def test_validate_rule__no_stages_defined__says_so():
    errors = validate_rule({"stage": "activation", "op": "current"}, known_stages=set())
    assert [str(e) for e in errors] == ['rule.stage: unknown stage "activation"; known stages: (none defined)']


def test_validate_rule__known_stages_as_set__listed_sorted():
    errors = validate_rule({"stage": "x", "op": "current"}, known_stages={"b", "a"})
    assert errors[0].message == 'unknown stage "x"; known stages: a, b'


def nested_not(levels):
    rule = trait("p", "eq", 1)
    for _ in range(levels - 1):
        rule = {"not": rule}
    return rule


@pytest.mark.parametrize("levels, expected", [
    (10, []),
    (11, [("rule" + ".not" * 10, "rule is nested too deeply; at most 10 levels are allowed")]),
], ids=["10_levels__accepted", "11_levels__error_at_deepest"])
def test_validate_rule__depth_limit(levels, expected):
    assert [(e.path, e.message) for e in validate_rule(nested_not(levels))] == expected


def test_validate_rule__custom_max_depth__applied():
    assert [e.path for e in validate_rule(nested_not(3), max_depth=2)] == ["rule.not.not"]


@pytest.mark.parametrize("count, expected", [
    (199, []),
    (200, [("rule", "rule has too many conditions; at most 200 are allowed")]),
], ids=["200_nodes__accepted", "201_nodes__one_error"])
def test_validate_rule__node_limit(count, expected):
    rule = {"any": [{"event": "e"} for _ in range(count)]}
    assert [(e.path, e.message) for e in validate_rule(rule)] == expected


def test_validate_rule__too_many_invalid_nodes__stops_at_limit():
    rule = {"any": [{"event": ""} for _ in range(1000)]}
    errors = validate_rule(rule, max_nodes=5)
    assert len(errors) == 5 and errors[-1].path == "rule"


HUGE = 10**5000  # too long for str(); JSON can't carry it, Python callers can


@pytest.mark.parametrize("rule, expected", [
    ({"event": "e", "min_count": HUGE}, []),
    ({"distinct_events": ["a"], "min_count": HUGE},
     [("rule.min_count", '"min_count" is a very large number but only 1 events are listed, '
                         "so the rule could never match")]),
    (trait("n", "gt", HUGE), []),
    (trait("n", "in", [HUGE]), []),
    (trait("n", "eq", 1e308 * 10), [("rule.value", '"eq" needs a string, number or boolean, got inf')]),
    ({"event": "e", "within_days": -HUGE},
     [("rule.within_days", '"within_days" must be a whole number of days of at least 1 (or null for ever), '
                           "got a very large number")]),
], ids=["huge_min_count__valid", "huge_distinct_min_count__error", "huge_gt__valid", "huge_in_item__valid",
        "infinite_eq__error", "huge_negative_window__error"])
def test_validate_rule__huge_numbers__never_raises(rule, expected):
    assert [(e.path, e.message) for e in validate_rule(rule)] == expected
    if not expected:
        assert evaluate(rule, facts({"n": 5})) in (True, False)
        assert describe(rule)


def test_rule_error__str__path_then_message():
    assert str(RuleError("rule.any[2].op", "bad")) == "rule.any[2].op: bad"


def test_ensure_valid_rule__invalid__raises_with_all_errors():
    with pytest.raises(RuleValidationError) as caught:
        ensure_valid_rule({"all": [{"event": ""}, trait("p", "nope", 1)]})
    assert [e.path for e in caught.value.errors] == ["rule.all[0].event", "rule.all[1].op"]
    assert str(caught.value).startswith("rule.all[0].event: event name is empty; rule.all[1].op: ")
    assert isinstance(caught.value, ValueError)


def test_ensure_valid_rule__valid__returns_none():
    assert ensure_valid_rule({"stage": "activation", "op": "current"}, known_stages=STAGES) is None


# --- introspection and description ----------------------------------------------------------

COMPLEX_RULE = {"all": [
    trait("plan", "eq", "pro"),
    {"any": [
        {"event": "report_viewed", "min_count": 3, "within_days": 7},
        {"not": {"stage": "activation", "op": "current"}},
        {"distinct_events": ["b", "a"], "within_days": 14},
        {"event": "report_viewed"},
    ]},
    {"not": {"stage": "adoption", "op": "reached"}},
]}


def test_required_counters__complex_rule__every_counter_key():
    assert required_counters(COMPLEX_RULE) == (
        {("report_viewed", 7), ("report_viewed", None)}, {(("a", "b"), 14)})


def test_required_counters__none__empty():
    assert required_counters(None) == (set(), set())


def test_referenced_events__includes_distinct_events():
    assert referenced_events(COMPLEX_RULE) == {"report_viewed", "a", "b"}


def test_referenced_stages__under_not_too():
    assert referenced_stages(COMPLEX_RULE) == {"activation", "adoption"}
    assert referenced_stages(None) == set()


DESCRIBE_CASES = [
    ({"all": [trait("plan", "eq", "pro"), {"any": [{"event": "report_viewed", "min_count": 3, "within_days": 7},
                                                  {"not": {"stage": "activation", "op": "current"}}]}]},
     'plan is "pro" and (did report_viewed ≥ 3× in 7 days or not at stage activation)', "contract_example"),
    (None, "everyone", "none"),
    ({"all": []}, "everyone", "empty_all"),
    ({"any": []}, "no one", "empty_any"),
    ({"any": [trait("plan", "neq", "pro")]}, 'plan is not "pro"', "single_child_unwrapped"),
    (trait("plan", "in", ["pro", "team"]), 'plan is one of "pro", "team"', "in"),
    (trait("plan", "not_in", ["free"]), 'plan is not one of "free"', "not_in"),
    (trait("tags", "contains", "beta"), 'tags contains "beta"', "contains"),
    ({"account_trait": "size", "op": "gte", "value": 11}, "account size ≥ 11", "account_gte"),
    (trait("size", "lt", 2.5), "size < 2.5", "lt"),
    (trait("beta", "eq", True), "beta is true", "boolean"),
    (trait("plan", "exists"), "plan is set", "exists"),
    (trait("plan", "exists", False), "plan is not set", "not_exists"),
    (trait("email", "regex", r"@acme\.com$"), r"email matches /@acme\.com$/", "regex"),
    ({"event": "integration_connected", "within_days": 14}, "did integration_connected in 14 days", "event_window"),
    ({"event": "x", "within_days": 1}, "did x in 1 day", "event_one_day"),
    ({"event": "x", "min_count": 2}, "did x ≥ 2×", "event_count_ever"),
    ({"distinct_events": ["a", "b", "c"], "min_count": 2, "within_days": 14}, "did ≥ 2 of a, b, c in 14 days",
     "distinct"),
    ({"distinct_events": ["a", "b"]}, "did any of a, b", "distinct_any"),
    ({"distinct_events": ["a", "b"], "min_count": 2}, "did all of a, b", "distinct_all"),
    ({"stage": "activation", "op": "reached"}, "reached stage activation", "stage_reached"),
    ({"not": {"all": [trait("a", "eq", 1), trait("b", "eq", 2)]}}, "not (a is 1 and b is 2)", "not_compound"),
    ({"not": {"any": [{"not": trait("a", "eq", 1)}]}}, "not not a is 1", "double_not"),
    ({"all": [trait("a", "eq", 1), {"all": [{"any": [trait("b", "eq", 2), trait("c", "eq", 3)]}]}]},
     "a is 1 and (b is 2 or c is 3)", "single_child_wrapper__still_parenthesised"),
    (trait("note", "eq", "x" * 50), f'note is "{"x" * 40}…"', "long_value__shortened"),
]


@pytest.mark.parametrize("rule, expected", [c[:2] for c in DESCRIBE_CASES], ids=[c[2] for c in DESCRIBE_CASES])
def test_describe(rule, expected):
    assert describe(rule) == expected


@pytest.mark.parametrize("name", sorted(EXAMPLES), ids=lambda name: name.lower().replace(" ", "_"))
def test_examples__each__valid_and_describable(name):
    assert validate_rule(EXAMPLES[name], known_stages=STAGES) == []
    assert describe(EXAMPLES[name])


def test_examples__reached_activation_not_adoption__behaves():
    rule = EXAMPLES["Reached activation but not adoption"]
    assert evaluate(rule, UserFacts(stage="activation", reached_stages=frozenset({"signup", "activation"})))
    assert not evaluate(rule, UserFacts(stage="adoption", reached_stages=frozenset(STAGES[:3])))
    assert not evaluate(rule, UserFacts(stage="signup", reached_stages=frozenset({"signup"})))


@pytest.mark.parametrize("email, expected", [("jo@acme.com", True), ("jo@gmail.com", False)], ids=["work", "gmail"])
def test_examples__work_email__excludes_free_mail(email, expected):
    assert evaluate(EXAMPLES["Work email (not Gmail or Yahoo)"], facts({"email": email})) is expected


# --- properties -----------------------------------------------------------------------------

TRAIT_NAMES = ("plan", "size", "tags")
EVENTS = ("a", "b", "c")
WINDOWS = st.sampled_from([None, 7, 14])
ALL_KEYS = sorted({key for keys in NODE_KEYS.values() for key in keys})

json_scalars = (st.none() | st.booleans() | st.integers() | st.floats()
                | st.text(max_size=8) | st.sampled_from(OPERATORS + ("current", "reached", "activation")))
json_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(ALL_KEYS) | st.text(max_size=6), children, max_size=4),
    max_leaves=25,
)
trait_values = st.recursive(
    json_scalars,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=3), children, max_size=2),
    max_leaves=5,
)

rule_scalars = (st.text(max_size=4) | st.integers(-3, 20) | st.booleans()
                | st.floats(allow_nan=False, allow_infinity=False))
numbers = st.integers(-3, 20) | st.floats(-5, 25)
VALUES_FOR_OP = {
    "in": st.lists(rule_scalars, max_size=3), "not_in": st.lists(rule_scalars, max_size=3),
    "gt": numbers, "gte": numbers, "lt": numbers, "lte": numbers,
    "exists": st.booleans(), "regex": st.sampled_from(["^p", "a+", r"\d", "ro$", ""]),
}


@st.composite
def trait_conditions(draw):
    op = draw(st.sampled_from(OPERATORS))
    rule = {draw(st.sampled_from(["trait", "account_trait"])): draw(st.sampled_from(TRAIT_NAMES)), "op": op}
    if op != "exists" or draw(st.booleans()):
        rule["value"] = draw(VALUES_FOR_OP.get(op, rule_scalars))
    return rule


@st.composite
def distinct_conditions(draw):
    events = draw(st.lists(st.sampled_from(EVENTS), min_size=1, unique=True))
    min_count = draw(st.integers(1, len(events)))
    return {"distinct_events": events, "min_count": min_count, "within_days": draw(WINDOWS)}


leaf_rules = (
    trait_conditions()
    | st.builds(lambda e, n, d: {"event": e, "min_count": n, "within_days": d},
                st.sampled_from(EVENTS), st.integers(1, 3), WINDOWS)
    | distinct_conditions()
    | st.builds(lambda s, op: {"stage": s, "op": op}, st.sampled_from(STAGES), st.sampled_from(["current", "reached"]))
)
rules = st.recursive(
    leaf_rules,
    lambda children: st.builds(lambda c: {"all": c}, st.lists(children, max_size=3))
    | st.builds(lambda c: {"any": c}, st.lists(children, max_size=3))
    | st.builds(lambda c: {"not": c}, children),
    max_leaves=8,
)
EVENT_KEYS = [(event, days) for event in EVENTS for days in (None, 7, 14)]
DISTINCT_KEYS = [(events, days) for events in [("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c"), EVENTS]
                 for days in (None, 7, 14)]


def optional_entries(keys, values):
    """A dict with any subset of ``keys`` (fixed keys draw faster than st.dictionaries)."""
    return st.fixed_dictionaries({}, optional={key: values for key in keys})


user_facts = st.builds(
    UserFacts,
    traits=optional_entries(TRAIT_NAMES, trait_values),
    account_traits=optional_entries(TRAIT_NAMES, trait_values),
    stage=st.none() | st.sampled_from(STAGES),
    reached_stages=st.frozensets(st.sampled_from(STAGES)),
    event_counts=optional_entries(EVENT_KEYS, st.integers(0, 4)),
    distinct_counts=optional_entries(DISTINCT_KEYS, st.integers(0, 3)),
)
FAST = settings(max_examples=200, deadline=None)


def valid(rule):
    return validate_rule(rule, known_stages=STAGES) == []


@FAST
@given(json_values, trait_values)
def test_validate_rule__any_json_value__never_raises_and_accepted_values_evaluate(value, trait_value):
    errors = validate_rule(value, known_stages=STAGES, max_depth=4, max_nodes=30)
    assert all(isinstance(e, RuleError) and e.path.startswith("rule") and e.message for e in errors)
    if not errors:
        assert evaluate(value, facts({name: trait_value for name in ALL_KEYS})) in (True, False)
        assert isinstance(describe(value), str)


@FAST
@given(rules)
def test_validate_rule__generated_rules__valid_unless_too_deep(rule):
    errors = validate_rule(rule, known_stages=STAGES)
    assert all("nested too deeply" in e.message for e in errors)


@FAST
@given(rules, user_facts)
def test_evaluate__valid_rule_any_traits__never_raises_and_describes(rule, facts_):
    assume(valid(rule))
    assert evaluate(rule, facts_) in (True, False)
    assert isinstance(describe(rule), str)


@FAST
@given(rules, user_facts)
def test_evaluate__not__inverts(rule, facts_):
    assume(valid({"not": rule}))
    assert evaluate({"not": rule}, facts_) is (not evaluate(rule, facts_))


@FAST
@given(st.lists(rules, max_size=3), user_facts)
def test_evaluate__de_morgan__all_and_any_are_duals(children, facts_):
    assume(valid({"not": {"all": children}}))
    negated = [{"not": child} for child in children]
    assert evaluate({"not": {"all": children}}, facts_) == evaluate({"any": negated}, facts_)
    assert evaluate({"not": {"any": children}}, facts_) == evaluate({"all": negated}, facts_)


class RecordingDict(dict):
    """A counter mapping that remembers every key evaluate() looks up."""

    def __init__(self, data):
        super().__init__(data)
        self.reads = set()

    def get(self, key, default=None):
        self.reads.add(key)
        return super().get(key, default)

    def __getitem__(self, key):
        self.reads.add(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self.reads.add(key)
        return super().__contains__(key)


@FAST
@given(rules, user_facts)
def test_required_counters__covers_every_counter_evaluate_reads(rule, facts_):
    assume(valid(rule))
    event_counts, distinct_counts = RecordingDict(facts_.event_counts), RecordingDict(facts_.distinct_counts)
    evaluate(rule, UserFacts(traits=facts_.traits, event_counts=event_counts, distinct_counts=distinct_counts))
    needed_events, needed_distinct = required_counters(rule)
    assert event_counts.reads <= needed_events
    assert distinct_counts.reads <= needed_distinct
    assert referenced_events(rule) >= {event for event, _ in needed_events}
