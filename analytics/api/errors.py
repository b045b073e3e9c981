"""JSON errors for everything under ``/api/``: the DRF exception handler and a middleware for the rest.

Every error body is ``{"detail": "<what went wrong, in words>", "code": "<machine code>"}``, plus
``"errors": {field: [messages]}`` when individual fields are at fault. The exception handler
(``REST_FRAMEWORK["EXCEPTION_HANDLER"]``) shapes DRF's errors that way; ``ApiJsonErrorsMiddleware``
turns Django's HTML 404/405/500 pages for ``/api/`` paths (no route, an unexpected exception) into
the same shape, so an API client never has to parse HTML.
"""
from __future__ import annotations

import logging

from django.db import InterfaceError, OperationalError
from django.http import JsonResponse
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

logger = logging.getLogger("analytics")

API_PREFIX = "/api/"
DATABASE_RETRY_AFTER_S = 5


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = "The request body is too large."
    default_code = "too_large"


class InvalidPayload(exceptions.APIException):
    """A 400 with a sentence and, optionally, per-field errors."""

    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "invalid"

    def __init__(self, detail: str, errors: dict | None = None, code: str = "invalid"):
        super().__init__(detail, code)
        self.errors = errors or {}


def api_exception_handler(exc, context):
    response = exception_handler(exc, context)
    if response is None and isinstance(exc, (OperationalError, InterfaceError)):
        # The database is restarting or unreachable: not the request's fault, and over in seconds.
        # 503 + Retry-After tells clients (the snippet keeps and resends its events) to come back.
        logger.warning("api.database_unavailable", extra={"error": type(exc).__name__})
        return Response(
            {"detail": "The service is briefly unavailable; retry shortly.", "code": "unavailable",
             "retry_after": DATABASE_RETRY_AFTER_S},
            status=status.HTTP_503_SERVICE_UNAVAILABLE, headers={"Retry-After": str(DATABASE_RETRY_AFTER_S)},
        )
    if response is None:
        return None  # unexpected: the middleware answers with a JSON 500 and logs it
    detail = response.data
    if isinstance(exc, InvalidPayload):
        body = {"detail": str(exc.detail), "code": exc.detail.code}
        if exc.errors:
            body["errors"] = exc.errors
    elif isinstance(exc, exceptions.ValidationError):
        body = {"detail": "The request is invalid.", "code": "invalid", "errors": detail}
    elif isinstance(detail, dict) and "detail" in detail:
        body = {"detail": str(detail["detail"]), "code": getattr(detail["detail"], "code", None) or "error"}
    else:
        body = {"detail": "The request failed.", "code": "error", "errors": detail}
    if isinstance(exc, exceptions.UnsupportedMediaType):
        body["detail"] += " Send application/json (or text/plain holding JSON, as navigator.sendBeacon does)."
    if isinstance(exc, exceptions.Throttled):
        body["retry_after"] = int(response.get("Retry-After", 1))
    response.data = body
    return response


class ApiJsonErrorsMiddleware:
    """JSON instead of Django's HTML error pages for ``/api/`` paths."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code in (404, 405, 500)
            and request.path_info.startswith(API_PREFIX)
            and not response.get("Content-Type", "").startswith("application/json")
            and not request.path_info.startswith("/api/docs")
        ):
            json_response = _json_error(response.status_code, request)
            if response.has_header("Allow"):
                json_response["Allow"] = response["Allow"]
            return json_response
        return response

    def process_exception(self, request, exception):
        if not request.path_info.startswith(API_PREFIX):
            return None
        logger.exception("api.unhandled_error", extra={"path": request.path_info[:200]})
        return _json_error(500, request)


def _json_error(status_code: int, request) -> JsonResponse:
    if status_code == 404:
        body = {"detail": f"No API endpoint at {request.path_info[:200]}.", "code": "not_found"}
    elif status_code == 405:
        body = {"detail": f"Method {request.method} is not allowed here.", "code": "method_not_allowed"}
    else:
        body = {"detail": "Internal error; it has been logged.", "code": "server_error"}
    return JsonResponse(body, status=status_code)
