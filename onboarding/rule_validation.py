"""Validation of rule trees: every problem with its location, in words a product manager reads."""
from __future__ import annotations

import difflib
import re
from collections.abc import Collection
from typing import Any

from onboarding.rule_nodes import (
    _ALL_KEYS, KINDS, MAX_REGEX_LENGTH, NODE_KEYS, OPERATORS, STAGE_OPERATORS, RuleError, RuleValidationError, _is_finite_number, _is_positive_int, _is_scalar, _json, _key_path, _show,
)

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
