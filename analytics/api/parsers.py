"""Request-body parsers for the public API: size-bounded JSON, also as ``text/plain`` for ``sendBeacon``.

The body is read at most ``view.max_body_bytes + 1`` bytes far (413 beyond, before parsing), then
decoded strictly as UTF-8 and parsed with the standard library. Every malformed input — bytes that
are not UTF-8, invalid JSON, ``NaN``, an integer too long to convert, nesting deep enough to
exhaust the recursion limit — becomes a 400 with a sentence saying which, never a 500.
"""
from __future__ import annotations

import json

from rest_framework.exceptions import ParseError
from rest_framework.parsers import BaseParser

from analytics.api.errors import RequestTooLarge

DEFAULT_MAX_BODY_BYTES = 256 * 1024


def _reject_constant(name: str):
    raise ValueError(f"{name} is not a JSON number")


def json_loads(body: bytes):
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as error:
        raise ParseError(f"The body is not valid UTF-8 (byte {error.start}).") from None
    try:
        return json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise ParseError("The body is nested too deeply to parse.") from None
    except ValueError as error:  # JSONDecodeError, NaN/Infinity, integers beyond the conversion limit
        raise ParseError(f"The body is not valid JSON: {str(error)[:200]}") from None


class BoundedJSONParser(BaseParser):
    media_type = "application/json"

    def parse(self, stream, media_type=None, parser_context=None):
        context = parser_context or {}
        limit = getattr(context.get("view"), "max_body_bytes", DEFAULT_MAX_BODY_BYTES)
        request = context.get("request")
        declared = request.META.get("CONTENT_LENGTH") if request is not None else None
        if declared and declared.isdigit() and int(declared) > limit:
            raise RequestTooLarge(f"The body is {int(declared)} bytes; the limit is {limit}.")
        body = stream.read(limit + 1) if stream is not None else b""
        if len(body) > limit:
            raise RequestTooLarge(f"The body is over the limit of {limit} bytes.")
        return json_loads(body)


class BeaconTextParser(BoundedJSONParser):
    """``navigator.sendBeacon`` posts a string as ``text/plain;charset=UTF-8``: the same JSON."""

    media_type = "text/plain"
