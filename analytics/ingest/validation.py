"""Plain-Python validation of event batches and identify calls: fast, located errors, never raises.

A DRF serializer over 20 events caps a worker at about a third of the requests this module
allows, so the public API parses JSON itself and checks each event here. Every function takes
plain values and returns plain values; nothing here touches the database.

Event rules (``validate_batch``)
    ``id``          a UUID (the idempotency key); a second event with the same id in one batch
                    counts as a duplicate, not an error.
    ``name``        a non-empty string of at most 200 characters. Names starting with ``$`` are
                    reserved for the snippet; only those in ``RESERVED_EVENTS`` are accepted.
    ``user_id`` / ``anonymous_id``  a non-empty string (or integer) of at most 200 characters;
                    one of them is required; when both are given the event belongs to ``user_id``.
    ``user_hash``   HMAC-SHA256(identity secret, user_id), hex; required with ``user_id`` when the
                    application demands identity verification.
    ``timestamp``   an ISO-8601 date-time (a time without offset is UTC); optional, the receive
                    time when missing. More than ``FUTURE_TOLERANCE`` ahead of the server clock it
                    is replaced by the receive time and the event flagged ``timestamp_clamped``.
                    Older than ``max_age`` (30 days by default) the event is rejected: late data
                    would silently rewrite journey history and experiment windows.
    ``properties``  a JSON object of at most 16 KiB serialised and 5 levels deep; optional.
    ``url``         at most 2,000 characters; ``session_id`` at most 100; both optional.
    Unknown keys are ignored, so older servers accept newer snippets.

Strings never contain NUL characters or unpaired surrogates, and numbers are finite: PostgreSQL
rejects all three, and the API must answer 400 for them rather than fail later.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import math
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

RESERVED_EVENTS = frozenset({
    "$pageview", "$guide_shown", "$guide_step_viewed", "$guide_completed", "$guide_dismissed",
    "$cta_clicked", "$checklist_item_completed", "$survey_submitted", "$guide_render_failed", "$exposure",
})
MAX_EVENTS = 100
MAX_NAME_LENGTH = 200
MAX_ID_LENGTH = 200
MAX_URL_LENGTH = 2000
MAX_SESSION_LENGTH = 100
MAX_PROPERTIES_BYTES = 16 * 1024
MAX_DEPTH = 5
MAX_TRAIT_KEYS = 100
MAX_TRAITS_BYTES = 8 * 1024
FUTURE_TOLERANCE = timedelta(minutes=5)
DEFAULT_MAX_AGE = timedelta(days=30)


class PayloadError(ValueError):
    """The request as a whole is unusable (wrong top-level shape); answered with 400."""

    def __init__(self, message: str, errors: dict | None = None):
        super().__init__(message)
        self.message = message
        self.errors = errors or {}


@dataclass
class BatchValidation:
    """The outcome of ``validate_batch``: the events to store and the ones rejected, by index."""

    events: list[dict] = field(default_factory=list)
    rejected: list[dict] = field(default_factory=list)
    duplicates: int = 0  # repeated ids inside this batch


def dumps(value: Any) -> str:
    """Compact JSON, as stored and as measured against the size limits."""
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def user_hash(identity_secret: str, user_id: str) -> str:
    return hmac.new(identity_secret.encode(), user_id.encode(), hashlib.sha256).hexdigest()


def user_hash_problem(identity_secret: str, user_id: str, given: Any) -> str | None:
    """Why ``given`` is not the user's hash (``None`` when it is), for a 401 or a rejection."""
    if given is None or given == "":
        return "user_hash is missing: this application requires HMAC-SHA256(identity secret, user_id)"
    if not isinstance(given, str) or not hmac.compare_digest(
        given.lower().encode("ascii", "replace"), user_hash(identity_secret, user_id).encode()
    ):
        return "user_hash is invalid: it is not HMAC-SHA256(identity secret, user_id) in hex"
    return None


# --- batches ----------------------------------------------------------------------------------

def validate_batch(
    payload: Any,
    *,
    now: datetime,
    max_age: timedelta = DEFAULT_MAX_AGE,
    identity_secret: str | None = None,
) -> BatchValidation:
    """Check a ``{"events": [...]}`` body; raise ``PayloadError`` only for the shape of the whole."""
    if not isinstance(payload, dict):
        raise PayloadError(f"the body must be a JSON object with an \"events\" list, got {_type(payload)}")
    events = payload.get("events")
    if not isinstance(events, list):
        raise PayloadError('"events" must be a list of event objects', {"events": ["must be a list"]})
    if len(events) > MAX_EVENTS:
        raise PayloadError(
            f"a batch holds at most {MAX_EVENTS} events, got {len(events)}; split it",
            {"events": [f"at most {MAX_EVENTS} events"]},
        )
    result = BatchValidation()
    seen: set[str] = set()
    hashes: dict[str, str | None] = {}
    oldest = now - max_age
    newest = now + FUTURE_TOLERANCE
    for index, raw in enumerate(events):
        event, errors = _event(raw, now, oldest, newest)
        if event is not None and identity_secret is not None and event["user_id"] is not None:
            user_id = event["user_id"]
            key = f"{user_id}\x00{raw.get('user_hash')}"
            if key not in hashes:
                hashes[key] = user_hash_problem(identity_secret, user_id, raw.get("user_hash"))
            if hashes[key]:
                event, errors = None, {"user_hash": [hashes[key]]}
        if event is None:
            result.rejected.append({"index": index, "errors": errors})
        elif event["id"] in seen:
            result.duplicates += 1
        else:
            seen.add(event["id"])
            result.events.append(event)
    return result


def _event(raw: Any, now: datetime, oldest: datetime, newest: datetime) -> tuple[dict | None, dict]:
    if not isinstance(raw, dict):
        return None, {"event": [f"must be a JSON object, got {_type(raw)}"]}
    errors: dict[str, list[str]] = {}

    event_id = raw.get("id")
    canonical = _uuid(event_id)
    if canonical is None:
        errors["id"] = ["required: a UUID generated by the client" if event_id is None else "not a UUID"]

    name = raw.get("name")
    problem = _text_problem(name, MAX_NAME_LENGTH, required=True)
    if problem:
        errors["name"] = [problem]
    elif name.startswith("$") and name not in RESERVED_EVENTS:
        errors["name"] = [f"names starting with $ are reserved; {name[:60]!r} is not one of the snippet's events"]

    user_id, problem = _identity(raw.get("user_id"))
    if problem:
        errors["user_id"] = [problem]
    anonymous_id, problem = _identity(raw.get("anonymous_id"))
    if problem:
        errors["anonymous_id"] = [problem]
    if user_id is None and anonymous_id is None and "user_id" not in errors and "anonymous_id" not in errors:
        errors["user_id"] = ["one of user_id or anonymous_id is required"]

    timestamp, clamped = now, False
    raw_timestamp = raw.get("timestamp")
    if raw_timestamp is not None:
        timestamp = _datetime(raw_timestamp)
        if timestamp is None:
            errors["timestamp"] = ["not an ISO-8601 date-time"]
        elif timestamp > newest:
            timestamp, clamped = now, True
        elif timestamp < oldest:
            errors["timestamp"] = [f"older than {(now - oldest).days} days; such events are not accepted"]

    properties = raw.get("properties")
    properties_json = "{}"
    if properties is None:
        properties = {}
    elif not isinstance(properties, dict):
        errors["properties"] = [f"must be a JSON object, got {_type(properties)}"]
    else:
        properties_json, problem = _json_problem(properties, MAX_PROPERTIES_BYTES)
        if problem:
            errors["properties"] = [problem]

    url = raw.get("url")
    problem = _text_problem(url, MAX_URL_LENGTH)
    if problem:
        errors["url"] = [problem]
    session_id = raw.get("session_id")
    problem = _text_problem(session_id, MAX_SESSION_LENGTH)
    if problem:
        errors["session_id"] = [problem]

    if errors:
        return None, errors
    return {
        "id": canonical,
        "name": name,
        "user_id": user_id,
        "anonymous_id": None if user_id is not None else anonymous_id,
        "timestamp": timestamp,
        "timestamp_clamped": clamped,
        "properties": properties,
        "properties_json": properties_json,
        "url": url or "",
        "session_id": session_id or "",
    }, errors


def _uuid(value: Any) -> str | None:
    if not isinstance(value, str) or not 32 <= len(value) <= 45:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        return None


def _datetime(value: Any) -> datetime | None:
    if not isinstance(value, str) or not 16 <= len(value) <= 40 or ("T" not in value and " " not in value):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=timezone.utc)
    try:
        return parsed.astimezone(timezone.utc)
    except (OverflowError, ValueError):  # e.g. year 1 with a positive offset
        return None


def _identity(value: Any) -> tuple[str | None, str | None]:
    """(the id as a string, problem); ``(None, None)`` when absent."""
    if value is None:
        return None, None
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    problem = _text_problem(value, MAX_ID_LENGTH, required=True)
    if problem:
        return None, problem
    if not value.strip():
        return None, "must not be blank"
    return value, None


def _text_problem(value: Any, limit: int, *, required: bool = False) -> str | None:
    if value is None or value == "":
        return "required: a non-empty string" if required else None
    if not isinstance(value, str):
        return f"must be a string, got {_type(value)}"
    if len(value) > limit:
        return f"{len(value)} characters long; the limit is {limit}"
    return _string_problem(value)


def _string_problem(value: str) -> str | None:
    if "\x00" in value:
        return "contains a NUL character"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "contains an unpaired surrogate (not valid Unicode)"
    return None


# --- JSON values --------------------------------------------------------------------------------

def _json_problem(value: dict, max_bytes: int) -> tuple[str, str | None]:
    """(compact JSON of ``value``, problem) with depth, size and content checked."""
    problem = _walk(value, 1)
    if problem:
        return "", problem
    try:
        text = dumps(value)
        size = len(text.encode("utf-8"))
    except (ValueError, UnicodeEncodeError, RecursionError):
        return "", "not representable as JSON (unpaired surrogate or non-finite number)"
    if size > max_bytes:
        return "", f"{size} bytes as JSON; the limit is {max_bytes}"
    return text, None


def _walk(value: Any, depth: int) -> str | None:
    if depth > MAX_DEPTH:
        return f"nested deeper than {MAX_DEPTH} levels"
    if isinstance(value, dict):
        for key, item in value.items():
            if "\x00" in key:
                return "a key contains a NUL character"
            problem = _walk(item, depth + 1) if isinstance(item, (dict, list)) else _scalar_problem(item)
            if problem:
                return problem
    else:
        for item in value:
            problem = _walk(item, depth + 1) if isinstance(item, (dict, list)) else _scalar_problem(item)
            if problem:
                return problem
    return None


def _scalar_problem(value: Any) -> str | None:
    if isinstance(value, str):
        return "a string contains a NUL character" if "\x00" in value else None
    if isinstance(value, float) and not math.isfinite(value):
        return "numbers must be finite"
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**63:
        return "integers must fit in 64 bits"
    return None


# --- identify -------------------------------------------------------------------------------

@dataclass(frozen=True)
class IdentifyInput:
    user_id: str | None
    anonymous_id: str | None
    traits: dict
    account_id: str | None
    account_traits: dict
    user_hash: Any


def validate_identify(payload: Any) -> IdentifyInput:
    """Check an identify body; raise ``PayloadError`` with field errors when it is unusable."""
    if not isinstance(payload, dict):
        raise PayloadError(f"the body must be a JSON object, got {_type(payload)}")
    errors: dict[str, list[str]] = {}
    user_id, problem = _identity(payload.get("user_id"))
    if problem:
        errors["user_id"] = [problem]
    anonymous_id, problem = _identity(payload.get("anonymous_id"))
    if problem:
        errors["anonymous_id"] = [problem]
    if user_id is None and anonymous_id is None and not errors:
        errors["user_id"] = ["one of user_id or anonymous_id is required"]
    traits, problem = _traits(payload.get("traits"))
    if problem:
        errors["traits"] = [problem]
    account_id, account_traits = None, {}
    account = payload.get("account")
    if account is not None:
        if not isinstance(account, dict):
            errors["account"] = [f"must be an object like {{\"id\": ..., \"traits\": {{...}}}}, got {_type(account)}"]
        else:
            account_id, problem = _identity(account.get("id"))
            if problem or account_id is None:
                errors["account.id"] = [problem or "required: the company's id"]
            account_traits, problem = _traits(account.get("traits"))
            if problem:
                errors["account.traits"] = [problem]
    if errors:
        raise PayloadError("the identify call is invalid", errors)
    return IdentifyInput(user_id, anonymous_id, traits, account_id, account_traits, payload.get("user_hash"))


def _traits(value: Any) -> tuple[dict, str | None]:
    if value is None:
        return {}, None
    if not isinstance(value, dict):
        return {}, f"must be a JSON object, got {_type(value)}"
    if len(value) > MAX_TRAIT_KEYS:
        return {}, f"{len(value)} keys; the limit is {MAX_TRAIT_KEYS}"
    _, problem = _json_problem(value, MAX_TRAITS_BYTES)
    return value, problem


def traits_merge(current: dict, changes: dict) -> tuple[dict, str | None]:
    """New keys overwrite, ``null`` deletes a key; (merged, problem if the result is too big)."""
    merged = dict(current or {})
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_TRAIT_KEYS:
        return merged, f"the merged traits would have {len(merged)} keys; the limit is {MAX_TRAIT_KEYS}"
    size = len(dumps(merged).encode("utf-8"))
    if size > MAX_TRAITS_BYTES:
        return merged, f"the merged traits would be {size} bytes as JSON; the limit is {MAX_TRAITS_BYTES}"
    return merged, None


def _type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null"}.get(
        type(value), "a number" if isinstance(value, (int, float)) else type(value).__name__
    )
