"""Targeting rules: one JSON rule tree, validated when saved and evaluated per request.

A rule is a JSON object of exactly one *kind*; ``None`` (no rule) means "everyone".

Combinators
    ``{"all": [rule, ...]}`` is true when every rule is (an empty list is true);
    ``{"any": [rule, ...]}`` is true when one rule is (an empty list is false);
    ``{"not": rule}`` inverts one rule.

Trait conditions — ``{"trait": "plan", "op": "eq", "value": "pro"}`` reads the user's traits,
``{"account_trait": "size", "op": "gte", "value": 10}`` the account's (company's) traits.

    eq / neq       equal / not equal. Values are a string, number or boolean; types are never
                   coerced ("12" is not 12, true is not 1; 1 is 1.0).
    in / not_in    equal to one / none of a list of such values.
    contains       a string trait contains the string value; a list trait has the value as an item.
    gt gte lt lte  both sides are numbers (int or float, never a boolean).
    exists         ``value`` true (the default) or false: whether the trait is set.
    regex          ``re.search`` of a pattern (at most 200 characters) in a string trait.

    A trait whose value is null counts as missing. A missing trait matches only
    ``exists: false``, ``neq`` and ``not_in``. A present trait of the wrong type for the operator
    (a string for ``gt``, a number for ``regex`` or ``contains``) makes the condition false and
    never raises — except ``neq`` and ``not_in``, which are always exactly ``not eq`` / ``not in``.

Behaviour conditions
    ``{"event": "report_viewed", "min_count": 3, "within_days": 7}``: the user did the event at
    least ``min_count`` times (default 1) in the last ``within_days`` days (omitted/null = ever).
    ``{"distinct_events": ["a", "b", "c"], "min_count": 2, "within_days": 14}``: the user did at
    least ``min_count`` *different* events of the list in that window.

Stage conditions
    ``{"stage": "activation", "op": "current"}``: the user is at that stage now;
    ``{"stage": "activation", "op": "reached"}``: the user is at that stage or has passed it.

Counters are not queried here: callers ask ``required_counters(rule)`` which counts are needed,
fetch exactly those, and pass them in ``UserFacts``. Evaluation is a pure function of the two.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from onboarding.rule_nodes import (
    KINDS, MAX_REGEX_LENGTH, NODE_KEYS, OPERATORS, STAGE_OPERATORS, RuleError, RuleValidationError,
    _distinct_key, _event_key, _is_number, _kind, _nodes, _show,
)
from onboarding.rule_validation import _regex_problem, ensure_valid_rule, validate_rule

__all__ = [
    "EXAMPLES", "KINDS", "MAX_REGEX_LENGTH", "NODE_KEYS", "OPERATORS", "STAGE_OPERATORS", "RuleError",
    "RuleValidationError", "UserFacts", "describe", "ensure_valid_rule", "evaluate", "referenced_events",
    "referenced_stages", "required_counters", "validate_rule",
]


@dataclass(frozen=True)
class UserFacts:
    """Everything a rule may look at for one user, fetched by the caller beforehand."""

    traits: Mapping[str, Any] = field(default_factory=dict)
    account_traits: Mapping[str, Any] = field(default_factory=dict)
    stage: str | None = None  # slug of the current stage
    # Slugs of the current stage and every stage before it ("reached" also accepts ``stage``).
    reached_stages: frozenset[str] = frozenset()
    # (event, within_days) -> how many times; a missing key means 0.
    event_counts: Mapping[tuple[str, int | None], int] = field(default_factory=dict)
    # (sorted tuple of events, within_days) -> how many of them were done at least once.
    distinct_counts: Mapping[tuple[tuple[str, ...], int | None], int] = field(default_factory=dict)


# --- evaluation -----------------------------------------------------------------------------

def evaluate(rule: Any, facts: UserFacts) -> bool:
    """Whether ``facts`` satisfy a valid ``rule`` (``None`` is always true)."""
    return True if rule is None else _evaluate(rule, facts)


def _evaluate(node: Any, facts: UserFacts) -> bool:
    kind = _kind(node)
    if kind == "all":
        return all(_evaluate(child, facts) for child in node["all"])
    if kind == "any":
        return any(_evaluate(child, facts) for child in node["any"])
    if kind == "not":
        return not _evaluate(node["not"], facts)
    if kind == "trait":
        return _evaluate_trait(facts.traits.get(node["trait"]), node)
    if kind == "account_trait":
        return _evaluate_trait(facts.account_traits.get(node["account_trait"]), node)
    if kind == "event":
        count = facts.event_counts.get(_event_key(node)) or 0
        return count >= node.get("min_count", 1)
    if kind == "distinct_events":
        count = facts.distinct_counts.get(_distinct_key(node)) or 0
        return count >= node.get("min_count", 1)
    if node.get("op") == "current":
        return facts.stage == node["stage"]
    return node["stage"] == facts.stage or node["stage"] in facts.reached_stages


def _evaluate_trait(actual: Any, node: dict) -> bool:
    op = node["op"]
    expected = node.get("value", True) if op == "exists" else node.get("value")
    if actual is None:  # missing
        return (op == "exists" and expected is False) or op in ("neq", "not_in")
    if op == "exists":
        return expected is True
    if op in ("eq", "neq"):
        return _same(actual, expected) == (op == "eq")
    if op in ("in", "not_in"):
        return any(_same(actual, item) for item in expected) == (op == "in")
    if op == "contains":
        if isinstance(actual, str):
            return isinstance(expected, str) and expected in actual
        return isinstance(actual, list) and any(_same(item, expected) for item in actual)
    if op == "regex":
        pattern = _compiled(expected)
        return isinstance(actual, str) and pattern is not None and pattern.search(actual) is not None
    if not (_is_number(actual) and _is_number(expected)):
        return False
    return {"gt": actual > expected, "gte": actual >= expected,
            "lt": actual < expected, "lte": actual <= expected}[op]


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str] | None:
    return None if _regex_problem(pattern) else re.compile(pattern)


def _same(a: Any, b: Any) -> bool:
    """JSON equality of scalars: no coercion between strings, numbers and booleans."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if _is_number(a) and _is_number(b):
        return a == b
    return isinstance(a, str) and isinstance(b, str) and a == b


# --- introspection --------------------------------------------------------------------------

def required_counters(
    rule: Any,
) -> tuple[set[tuple[str, int | None]], set[tuple[tuple[str, ...], int | None]]]:
    """The ``event_counts`` and ``distinct_counts`` keys ``evaluate`` may read for ``rule``."""
    events = {_event_key(node) for node in _nodes(rule) if _kind(node) == "event"}
    distinct = {_distinct_key(node) for node in _nodes(rule) if _kind(node) == "distinct_events"}
    return events, distinct


def referenced_events(rule: Any) -> set[str]:
    names: set[str] = set()
    for node in _nodes(rule):
        if _kind(node) == "event":
            names.add(node["event"])
        elif _kind(node) == "distinct_events":
            names.update(node["distinct_events"])
    return names


def referenced_stages(rule: Any) -> set[str]:
    return {node["stage"] for node in _nodes(rule) if _kind(node) == "stage"}


def describe(rule: Any) -> str:
    """Short English for a valid rule, e.g. 'plan is "pro" and not at stage activation'."""
    return "everyone" if rule is None else _describe(rule)


_OP_WORDS = {"eq": "is", "neq": "is not", "in": "is one of", "not_in": "is not one of",
             "contains": "contains", "gt": ">", "gte": "≥", "lt": "<", "lte": "≤"}


def _describe(node: dict) -> str:
    kind = _kind(node)
    if kind in ("all", "any"):
        children = node[kind]
        if not children:
            return "everyone" if kind == "all" else "no one"
        if len(children) == 1:
            return _describe(children[0])
        return f" {'and' if kind == 'all' else 'or'} ".join(_describe_nested(child) for child in children)
    if kind == "not":
        return f"not {_describe_nested(node['not'])}"
    if kind in ("trait", "account_trait"):
        label = node[kind] if kind == "trait" else f"account {node[kind]}"
        op, value = node["op"], node.get("value", True)
        if op == "exists":
            return f"{label} is {'set' if value is True else 'not set'}"
        if op == "regex":
            return f"{label} matches /{value}/"
        shown = ", ".join(map(_show, value)) if op in ("in", "not_in") else _show(value)
        return f"{label} {_OP_WORDS[op]} {shown}"
    if kind == "stage":
        return f"{'at' if node['op'] == 'current' else 'reached'} stage {node['stage']}"
    days = node.get("within_days")
    window = f" in {_show(days)} day{'' if days == 1 else 's'}" if days else ""
    min_count = node.get("min_count", 1)
    if kind == "event":
        times = f" ≥ {_show(min_count)}×" if min_count > 1 else ""
        return f"did {node['event']}{times}{window}"
    events = node["distinct_events"]
    how_many = "any" if min_count == 1 else "all" if min_count == len(events) else f"≥ {_show(min_count)}"
    return f"did {how_many} of {', '.join(events)}{window}"


def _describe_nested(node: dict) -> str:
    """``_describe`` in parentheses when it joins several conditions."""
    kind = _kind(node)
    while kind in ("all", "any") and len(node[kind]) == 1:  # a single child reads as itself
        node = node[kind][0]
        kind = _kind(node)
    compound = kind in ("all", "any") and len(node[kind]) > 1
    return f"({_describe(node)})" if compound else _describe(node)


# Shown as ready-made starting points in the admin's rule editor; keys are the labels.
EXAMPLES: dict[str, dict] = {
    "Persona is founder": {"trait": "persona", "op": "eq", "value": "founder"},
    "On a paid plan": {"trait": "plan", "op": "in", "value": ["pro", "team", "enterprise"]},
    "Company size ≥ 11": {"account_trait": "size", "op": "gte", "value": 11},
    "Work email (not Gmail or Yahoo)": {"trait": "email", "op": "regex", "value": r"@(?!gmail\.com$|yahoo\.com$)"},
    "Connected an integration in the last 14 days": {"event": "integration_connected", "within_days": 14},
    "Viewed reports ≥ 3 times in 7 days": {"event": "report_viewed", "min_count": 3, "within_days": 7},
    "Used ≥ 5 distinct features in 14 days": {
        "distinct_events": ["integration_connected", "widget_customized", "teammate_invited", "chatbot_created",
                            "report_viewed", "canned_reply_created", "conversation_assigned"],
        "min_count": 5, "within_days": 14,
    },
    "Reached activation but not adoption": {"all": [
        {"stage": "activation", "op": "reached"},
        {"not": {"stage": "adoption", "op": "reached"}},
    ]},
    "Admins who have not connected an integration": {"all": [
        {"trait": "role", "op": "eq", "value": "admin"},
        {"not": {"event": "integration_connected"}},
    ]},
}
