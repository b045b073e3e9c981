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

import difflib
import json
import math
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

__all__ = [
    "EXAMPLES", "OPERATORS", "STAGE_OPERATORS", "RuleError", "RuleValidationError", "UserFacts",
    "describe", "ensure_valid_rule", "evaluate", "referenced_events", "referenced_stages",
    "required_counters", "validate_rule",
]

OPERATORS: tuple[str, ...] = (
    "eq", "neq", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "exists", "regex",
)
STAGE_OPERATORS: tuple[str, ...] = ("current", "reached")
MAX_REGEX_LENGTH = 200

# The keys each kind of node may carry; the first key names the kind.
NODE_KEYS: dict[str, tuple[str, ...]] = {
    "all": ("all",),
    "any": ("any",),
    "not": ("not",),
    "trait": ("trait", "op", "value"),
    "account_trait": ("account_trait", "op", "value"),
    "event": ("event", "min_count", "within_days"),
    "distinct_events": ("distinct_events", "min_count", "within_days"),
    "stage": ("stage", "op"),
}
KINDS: tuple[str, ...] = tuple(NODE_KEYS)
_ALL_KEYS: tuple[str, ...] = tuple(dict.fromkeys(k for keys in NODE_KEYS.values() for k in keys))


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


@dataclass(frozen=True)
class RuleError:
    path: str  # where in the tree, e.g. 'rule.any[2].op'
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RuleValidationError(ValueError):
    def __init__(self, errors: list[RuleError]):
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


# --- validation -----------------------------------------------------------------------------

def validate_rule(
    rule: Any,
    *,
    known_stages: Collection[str] | None = None,
    max_depth: int = 10,
    max_nodes: int = 200,
) -> list[RuleError]:
    """Every problem in ``rule`` with its path; ``[]`` when it is valid. Never raises."""
    if rule is None:
        return []
    validator = _Validator(known_stages, max_depth, max_nodes)
    try:
        validator.node(rule, "rule", 1)
    except _TooManyNodes:
        pass  # already recorded; what follows would only repeat it
    return validator.errors


def ensure_valid_rule(rule: Any, **limits: Any) -> None:
    """``validate_rule`` for services: raise ``RuleValidationError`` listing every problem."""
    errors = validate_rule(rule, **limits)
    if errors:
        raise RuleValidationError(errors)


class _TooManyNodes(Exception):
    pass


class _Validator:
    def __init__(self, known_stages: Collection[str] | None, max_depth: int, max_nodes: int):
        if known_stages is None:
            self.known_stages = None
        else:  # keep the stages' own order unless it is an unordered set
            ordered = sorted(known_stages) if isinstance(known_stages, (set, frozenset)) else known_stages
            self.known_stages = [str(stage) for stage in ordered]
        self.max_depth, self.max_nodes = max_depth, max_nodes
        self.nodes = 0
        self.errors: list[RuleError] = []

    def add(self, path: str, message: str) -> None:
        self.errors.append(RuleError(path, message))

    def node(self, node: Any, path: str, depth: int) -> None:
        if depth > self.max_depth:
            self.add(path, f"rule is nested too deeply; at most {self.max_depth} levels are allowed")
            return
        self.nodes += 1
        if self.nodes > self.max_nodes:
            self.add("rule", f"rule has too many conditions; at most {self.max_nodes} are allowed")
            raise _TooManyNodes
        if not isinstance(node, dict):
            hint = '; wrap a list of rules in {"all": [...]} or {"any": [...]}' if isinstance(node, list) else ""
            self.add(path, f"expected a rule object, got {_show(node)}{hint}")
            return
        kinds = [kind for kind in KINDS if kind in node]
        if not kinds:
            what = "empty rule" if not node else "rule has no kind"
            self.add(path, f"{what}; use one of the keys {', '.join(KINDS)}")
            self.unknown_keys(node, path, _ALL_KEYS, "rules take")
            return
        if len(kinds) > 1:
            self.add(path, f"a rule has exactly one kind, but this one has {len(kinds)}: "
                           f"{' and '.join(map(_json, kinds))}; combine rules with " '{"all": [...]}')
            return
        kind = kinds[0]
        self.unknown_keys(node, path, NODE_KEYS[kind], f"{_json(kind)} rules take")
        getattr(self, f"check_{kind}")(node, path, depth)

    def unknown_keys(self, node: dict, path: str, allowed: tuple[str, ...], takes: str) -> None:
        for key in node:
            if key in allowed:
                continue
            close = difflib.get_close_matches(key[:100], allowed, n=1) if isinstance(key, str) else []
            guess = f" (did you mean {_json(close[0])}?)" if close else ""
            self.add(_key_path(path, key),
                     f"unknown key {_show(key)}{guess}; {takes} the keys {', '.join(allowed)}")

    def check_all(self, node: dict, path: str, depth: int, kind: str = "all") -> None:
        children = node[kind]
        if not isinstance(children, list):
            self.add(f"{path}.{kind}", f'"{kind}" needs a list of rules, got {_show(children)}')
            return
        for index, child in enumerate(children):
            self.node(child, f"{path}.{kind}[{index}]", depth + 1)

    def check_any(self, node: dict, path: str, depth: int) -> None:
        self.check_all(node, path, depth, kind="any")

    def check_not(self, node: dict, path: str, depth: int) -> None:
        if isinstance(node["not"], list):
            self.add(f"{path}.not", '"not" takes a single rule, not a list; '
                                    'to negate several, write {"not": {"any": [...]}}')
            return
        self.node(node["not"], f"{path}.not", depth + 1)

    def check_trait(self, node: dict, path: str, depth: int, kind: str = "trait") -> None:
        self.name(node[kind], f"{path}.{kind}", "trait name")
        op = node.get("op")
        if "op" not in node:
            self.add(f"{path}.op", f'missing "op"; use one of {", ".join(OPERATORS)}')
            return
        if not isinstance(op, str) or op not in OPERATORS:
            self.add(f"{path}.op", f"unknown operator {_show(op)}; use one of {', '.join(OPERATORS)}")
            return
        value_path = f"{path}.value"
        if op == "exists":
            if "value" in node and not isinstance(node["value"], bool):
                self.add(value_path, f'"exists" takes true or false, got {_show(node["value"])}')
            return
        if "value" not in node:
            self.add(value_path, f'missing "value" for "{op}"')
            return
        value = node["value"]
        if op in ("in", "not_in"):
            if not isinstance(value, list):
                self.add(value_path, f'"{op}" needs a list of values like ["pro", "team"], got {_show(value)}')
                return
            for index, item in enumerate(value):
                if not _is_scalar(item):
                    self.add(f"{value_path}[{index}]", f"list items must be strings, numbers or booleans, "
                                                       f"got {_show(item)}")
        elif op in ("gt", "gte", "lt", "lte"):
            if not _is_finite_number(value):
                hint = "; write the number without quotes" if isinstance(value, str) else ""
                self.add(value_path, f'"{op}" compares numbers, got {_show(value)}{hint}')
        elif op == "regex":
            problem = _regex_problem(value)
            if problem:
                self.add(value_path, problem)
        elif not _is_scalar(value):  # eq, neq, contains
            hint = '; to test for a missing trait use {"op": "exists", "value": false}' if value is None else ""
            self.add(value_path, f'"{op}" needs a string, number or boolean, got {_show(value)}{hint}')

    def check_account_trait(self, node: dict, path: str, depth: int) -> None:
        self.check_trait(node, path, depth, kind="account_trait")

    def check_event(self, node: dict, path: str, depth: int) -> None:
        self.name(node["event"], f"{path}.event", "event name")
        self.counts(node, path)

    def check_distinct_events(self, node: dict, path: str, depth: int) -> None:
        events, events_path = node["distinct_events"], f"{path}.distinct_events"
        min_count_ok = self.counts(node, path)
        if not isinstance(events, list) or not events:
            self.add(events_path, f'"distinct_events" needs a non-empty list of event names, got {_show(events)}')
            return
        seen: set[str] = set()
        for index, event in enumerate(events):
            if self.name(event, f"{events_path}[{index}]", "event name"):
                if event in seen:
                    self.add(f"{events_path}[{index}]", f"event {_show(event)} is listed twice")
                seen.add(event)
        min_count = node.get("min_count", 1)
        if min_count_ok and min_count > len(events):
            self.add(f"{path}.min_count", f'"min_count" is {_show(min_count)} but only {len(events)} events '
                                          "are listed, so the rule could never match")

    def check_stage(self, node: dict, path: str, depth: int) -> None:
        slug, slug_path = node["stage"], f"{path}.stage"
        if self.name(slug, slug_path, "stage") and self.known_stages is not None:
            if slug not in self.known_stages:
                close = difflib.get_close_matches(slug[:100], self.known_stages, n=1)
                guess = f" (did you mean {_json(close[0])}?)" if close else ""
                known = ", ".join(self.known_stages) or "(none defined)"
                self.add(slug_path, f"unknown stage {_show(slug)}{guess}; known stages: {known}")
        op = node.get("op")
        if "op" not in node:
            self.add(f"{path}.op", f'missing "op"; use one of {", ".join(STAGE_OPERATORS)}')
        elif not isinstance(op, str) or op not in STAGE_OPERATORS:
            self.add(f"{path}.op", f"unknown stage operator {_show(op)}; use one of {', '.join(STAGE_OPERATORS)}")

    def name(self, value: Any, path: str, what: str) -> bool:
        if not isinstance(value, str):
            self.add(path, f"{what} must be a string, got {_show(value)}")
            return False
        if not value.strip():
            self.add(path, f"{what} is empty")
            return False
        return True

    def counts(self, node: dict, path: str) -> bool:
        """Check min_count and within_days; return whether min_count is usable."""
        min_count = node.get("min_count", 1)
        min_count_ok = _is_positive_int(min_count)
        if not min_count_ok:
            self.add(f"{path}.min_count", f'"min_count" must be a whole number of at least 1, got {_show(min_count)}')
        within_days = node.get("within_days")
        if within_days is not None and not _is_positive_int(within_days):
            self.add(f"{path}.within_days", '"within_days" must be a whole number of days of at least 1 '
                                            f"(or null for ever), got {_show(within_days)}")
        return min_count_ok


def _regex_problem(pattern: Any) -> str | None:
    if not isinstance(pattern, str):
        return f'"regex" needs a pattern string, got {_show(pattern)}'
    if len(pattern) > MAX_REGEX_LENGTH:
        return f"pattern is {len(pattern)} characters long; the limit is {MAX_REGEX_LENGTH}"
    try:
        re.compile(pattern)
    except re.error as error:
        return f"invalid regular expression: {error}"
    except (RecursionError, OverflowError, ValueError) as error:  # pathological nesting or sizes
        return f"invalid regular expression: {type(error).__name__}"
    return None


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


# --- helpers --------------------------------------------------------------------------------

def _kind(node: Any) -> str:
    if isinstance(node, dict):
        for kind in KINDS:
            if kind in node:
                return kind
    raise RuleValidationError([RuleError("rule", f"not a rule: {_show(node)}; check it with validate_rule")])


def _nodes(rule: Any) -> Iterator[dict]:
    """Every node of a valid rule, parents before children."""
    if rule is None:
        return
    stack = [rule]
    while stack:
        node = stack.pop()
        yield node
        kind = _kind(node)
        if kind in ("all", "any"):
            stack.extend(reversed(node[kind]))
        elif kind == "not":
            stack.append(node["not"])


def _event_key(node: dict) -> tuple[str, int | None]:
    return node["event"], node.get("within_days")


def _distinct_key(node: dict) -> tuple[tuple[str, ...], int | None]:
    return tuple(sorted(set(node["distinct_events"]))), node.get("within_days")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _is_finite_number(value: Any) -> bool:
    return _is_number(value) and (isinstance(value, int) or math.isfinite(value))


def _is_scalar(value: Any) -> bool:
    return isinstance(value, (str, bool)) or _is_finite_number(value)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _show(value: Any) -> str:
    """A short description of any value for an error message (never the whole of a big one)."""
    if isinstance(value, str):
        return _json(value if len(value) <= 40 else value[:40] + "…")
    if value is None or isinstance(value, bool):
        return _json(value)
    if _is_number(value):
        return repr(value) if isinstance(value, float) or abs(value) < 10**40 else "a very large number"
    return {list: "a list", dict: "an object"}.get(type(value), f"a {type(value).__name__}")


def _key_path(path: str, key: Any) -> str:
    return f"{path}.{key}" if isinstance(key, str) and key.isidentifier() else f"{path}[{_show(key)}]"


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
