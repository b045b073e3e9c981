"""Page-URL rules: on which pages of the customer's app a guide may show.

The URL is the full page URL, e.g. ``https://app.example.com/settings/team?tab=1#x``. The
``#fragment`` is never matched. What a pattern is compared with depends on its first character:

* A pattern starting with ``/`` is matched against the path (``/settings/team``), plus
  ``?`` and the query (``/settings/team?tab=1``) when the pattern itself contains a ``?`` — for
  a regex, a literal ``\\?``, since a bare ``?`` is a quantifier there. A regex anchored as
  ``^/…`` counts as starting with ``/``. An empty path counts as ``/``.
* Any other pattern is matched against the full URL without the fragment.

Match types (``MATCH_TYPES``):

* ``exact`` — equal, ignoring one trailing slash at the end of the path on either side
  (``/settings`` = ``/settings/``; ``https://x.com`` = ``https://x.com/``).
* ``prefix`` — the target starts with the pattern (``/settings`` also matches ``/settings-old``;
  write ``/settings/`` to mean the section).
* ``glob`` — the whole target matches; ``*`` is any run of characters except ``/``, ``**`` any
  run including ``/``. Every other character, ``?`` included, is literal.
* ``regex`` — ``re.search`` on the target; anchor with ``^``/``$`` for a whole match.

Matching is case-sensitive and compares text as written (no percent-decoding). ``url_matches``
never raises: an odd URL or an invalid rule simply does not match. Patterns are checked when
saved with ``validate_url_rule``. Exclusions ("not on these pages") are the caller's business.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from urllib.parse import urlsplit

MATCH_TYPES: tuple[str, ...] = ("exact", "prefix", "glob", "regex")
MAX_PATTERN_LENGTH = 500


def validate_url_rule(match_type: str, pattern: str) -> list[str]:
    """Human-readable problems with one URL rule; ``[]`` when it is fine."""
    errors = []
    if match_type not in MATCH_TYPES:
        errors.append(f"unknown match type {_show(match_type)}; use one of {', '.join(MATCH_TYPES)}")
    if not isinstance(pattern, str):
        return [*errors, f"pattern must be a string, got {type(pattern).__name__}"]
    if not pattern.strip():
        return [*errors, "pattern is empty"]
    if len(pattern) > MAX_PATTERN_LENGTH:
        return [*errors, f"pattern is {len(pattern)} characters long; the limit is {MAX_PATTERN_LENGTH}"]
    if match_type == "regex":
        try:
            re.compile(pattern)
        except re.error as error:
            errors.append(f"invalid regular expression: {error}")
        except (RecursionError, OverflowError, ValueError) as error:
            errors.append(f"invalid regular expression: {type(error).__name__}")
    elif match_type in MATCH_TYPES and "#" in pattern:
        # The fragment is never part of what is matched, so such a rule could never match.
        errors.append('pattern contains "#"; the #fragment of a URL is never matched, remove it')
    return errors


def url_matches(match_type: str, pattern: str, url: str) -> bool:
    """Whether ``url`` matches one rule (see the module docstring). Never raises."""
    if not isinstance(url, str) or not isinstance(pattern, str) or not pattern:
        return False
    target = _target(url, pattern, is_regex=match_type == "regex")
    if match_type == "exact":
        return _without_trailing_slash(target) == _without_trailing_slash(pattern)
    if match_type == "prefix":
        return target.startswith(pattern)
    if match_type == "glob":
        return _glob_regex(pattern).fullmatch(target) is not None
    if match_type == "regex":
        compiled = _compiled_regex(pattern)
        return compiled is not None and compiled.search(target) is not None
    return False


def any_url_rule_matches(rules: Iterable[tuple[str, str]], url: str) -> bool:
    """Whether any rule matches; no rules at all means every page."""
    rules = list(rules)
    return not rules or any(url_matches(match_type, pattern, url) for match_type, pattern in rules)


def _target(url: str, pattern: str, *, is_regex: bool) -> str:
    """The part of ``url`` that ``pattern`` is compared with."""
    without_fragment = url.partition("#")[0]
    is_path_pattern = pattern.startswith("/") or (is_regex and pattern.startswith("^/"))
    if not is_path_pattern:
        return without_fragment
    path, query = _path_and_query(without_fragment)
    wants_query = "\\?" in pattern if is_regex else "?" in pattern
    return f"{path}?{query}" if wants_query and query else path


def _path_and_query(url: str) -> tuple[str, str]:
    try:
        parts = urlsplit(url)
        path, query = parts.path, parts.query
    except ValueError:  # e.g. a malformed IPv6 host; fall back to a plain split
        rest = re.sub(r"^[A-Za-z][A-Za-z0-9+.-]*://[^/?]*", "", url)
        path, _, query = rest.partition("?")
    return path or "/", query


def _without_trailing_slash(target: str) -> str:
    path, question_mark, query = target.partition("?")
    return (path[:-1] if path.endswith("/") else path) + question_mark + query


@lru_cache(maxsize=1024)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    pieces = re.split(r"(\*\*|\*)", pattern)
    wildcards = {"**": ".*", "*": "[^/]*"}
    return re.compile("".join(wildcards.get(piece) or re.escape(piece) for piece in pieces), re.DOTALL)


@lru_cache(maxsize=1024)
def _compiled_regex(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except (re.error, RecursionError, OverflowError, ValueError):
        return None


def _show(value: object) -> str:
    if isinstance(value, str):
        return f'"{value[:40]}"'
    try:
        return repr(value)[:40]
    except ValueError:  # e.g. an int too long to print
        return f"a {type(value).__name__}"
