"""The node shapes of the rule language and small helpers shared by validation and evaluation."""
from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

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
class RuleError:
    path: str  # where in the tree, e.g. 'rule.any[2].op'
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class RuleValidationError(ValueError):
    def __init__(self, errors: list[RuleError]):
        self.errors = list(errors)
        super().__init__("; ".join(str(error) for error in self.errors))


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
