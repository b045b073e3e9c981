"""CORS for the public API (``/api/v1/`` except ``/api/v1/server/``), limited to each application's origins.

``PublicApiCorsMiddleware`` (in ``MIDDLEWARE``, before ``CommonMiddleware``) covers every public
endpoint, the content decision included, with no code in the views:

* Preflight (``OPTIONS`` with ``Access-Control-Request-Method``) is answered here, 204, without
  reaching a view. A browser sends no custom header on a preflight, so the key is usually
  unknown: the origin is allowed if the ``key`` query parameter names an application that lists
  it, or — without a key — if any application lists it; the real request is then checked against
  its own application's list (``PublishableKeyAuthentication`` refuses other origins with 403).
  Allowed: ``Access-Control-Allow-Origin: <origin>``, methods GET and POST, headers
  ``Content-Type`` and ``X-Wayline-Key``, ``Access-Control-Max-Age``.
* Actual requests get ``Access-Control-Allow-Origin: <origin>`` when the authenticated
  application allows that origin (or, when authentication failed, when some application does, so
  the page can read the 401), and ``Access-Control-Expose-Headers: Retry-After``.
* Every public response carries ``Vary: Origin``. Other origins get no CORS headers at all, and
  ``Access-Control-Allow-Credentials`` is never sent: the API uses keys, never cookies.
* The server endpoints (``/api/v1/server/``) never send CORS headers, nor do the staff reports
  (``/api/v1/reports/``).

Origins are compared exactly (scheme, host and port, case-insensitively, ignoring a trailing
slash in the configured value); there are no wildcards. The set of all applications' origins is
cached in-process for ``WAYLINE_KEY_CACHE_SECONDS``, like the keys.
"""
from __future__ import annotations

import threading
import time

from django.conf import settings
from django.http import HttpResponse
from django.utils.cache import patch_vary_headers

from analytics.api.authentication import KEY_HEADER, KEY_QUERY_PARAMETER, origin_allowed, publishable_keys
from onboarding.keys import PUBLISHABLE_PREFIX
from onboarding.models import Application

PUBLIC_PREFIX = "/api/v1/"
# Server-to-server endpoints, and the reports read by logged-in staff on Wayline's own origin.
EXCLUDED_PREFIXES = ("/api/v1/server/", "/api/v1/reports/")
ALLOWED_METHODS = "GET, POST"
ALLOWED_HEADERS = f"Content-Type, {KEY_HEADER}"
MAX_AGE = 600  # seconds a browser may reuse a preflight answer


class _AllOrigins:
    """Every origin any application allows, cached for the key-cache TTL."""

    timer = staticmethod(time.monotonic)

    def __init__(self):
        self._origins: frozenset[str] = frozenset()
        self._expires = 0.0
        self._lock = threading.Lock()

    def contains(self, origin: str) -> bool:
        now = self.timer()
        if now >= self._expires:
            origins = {
                allowed.strip().rstrip("/").lower()
                for allowed_list in Application.objects.values_list("allowed_origins", flat=True)
                for allowed in allowed_list or ()
                if isinstance(allowed, str)
            }
            with self._lock:
                self._origins = frozenset(origins)
                self._expires = now + getattr(settings, "WAYLINE_KEY_CACHE_SECONDS", 10)
        return origin.lower() in self._origins

    def clear(self) -> None:
        self._expires = 0.0


all_origins = _AllOrigins()


class PublicApiCorsMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        path = request.path_info
        if not path.startswith(PUBLIC_PREFIX) or path.startswith(EXCLUDED_PREFIXES):
            return self.get_response(request)
        origin = request.META.get("HTTP_ORIGIN")
        if request.method == "OPTIONS" and "HTTP_ACCESS_CONTROL_REQUEST_METHOD" in request.META:
            response = HttpResponse(status=204)
            if origin and self._preflight_allowed(request, origin):
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Allow-Methods"] = ALLOWED_METHODS
                response["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
                response["Access-Control-Max-Age"] = str(MAX_AGE)
            patch_vary_headers(response, ("Origin",))
            return response
        response = self.get_response(request)
        if origin:
            application = getattr(request, "wayline_application", None)
            allowed = origin_allowed(application, origin) if application is not None else all_origins.contains(origin)
            if allowed:
                response["Access-Control-Allow-Origin"] = origin
                response["Access-Control-Expose-Headers"] = "Retry-After"
        patch_vary_headers(response, ("Origin",))
        return response

    @staticmethod
    def _preflight_allowed(request, origin: str) -> bool:
        key = request.GET.get(KEY_QUERY_PARAMETER)
        if key and key.startswith(PUBLISHABLE_PREFIX):
            application = publishable_keys.get(key)
            return application is not None and origin_allowed(application, origin)
        return all_origins.contains(origin)
