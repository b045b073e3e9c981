"""Who is calling the API: an Application, by its publishable key (browser) or secret key (server).

Use on any public endpoint (the content decision does)::

    class SomethingApi(APIView):
        authentication_classes = [PublishableKeyAuthentication]
        throttle_classes = [PublicApiThrottle]          # analytics.api.throttling

``authenticate()`` returns ``(None, application)``: ``request.auth`` is the
``onboarding.models.Application`` and ``request.user`` is ``None``. A missing or unknown key, a
secret key on the public API and a publishable key on the server API are answered with 401 and a
``{"detail": …}`` saying which. On the public API, a browser ``Origin`` that is not among the
application's ``allowed_origins`` is refused with 403 — CORS alone would only hide the response
from the page, not stop the write. Requests without ``Origin`` (curl, servers) are not affected.

Key lookups are on every request's path, so they are cached in this process for
``WAYLINE_KEY_CACHE_SECONDS`` (10 s by default; 0 turns the cache off), unknown keys included. That
TTL is the invalidation: a rotated key keeps working, and a change to allowed origins or identity
verification takes effect, at most that long after the change in processes other than the one
that made it. The cached ``Application`` object is shared between requests: never modify it.
When the database cannot be reached (it is restarting), an expired entry keeps answering until it
can: with Redis buffering, event ingest needs nothing else from the database, so it goes on
accepting events instead of failing every request while the database is away.
"""
from __future__ import annotations

import threading
import time

from django.conf import settings
from django.db import DatabaseError
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from onboarding.keys import PUBLISHABLE_PREFIX, SECRET_PREFIX
from onboarding.models import Application

KEY_HEADER = "X-Wayline-Key"
KEY_QUERY_PARAMETER = "key"
MAX_CACHED_KEYS = 10_000


class KeyCache:
    """key -> (Application or None, expiry); a bounded dict with a TTL and an injectable clock."""

    timer = staticmethod(time.monotonic)

    def __init__(self, field: str):
        self.field = field
        self._entries: dict[str, tuple[Application | None, float]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> Application | None:
        ttl = getattr(settings, "WAYLINE_KEY_CACHE_SECONDS", 10)
        now = self.timer()
        entry = self._entries.get(key)
        if entry is not None and entry[1] > now:
            return entry[0]
        try:
            application = Application.objects.filter(**{self.field: key}).first()
        except DatabaseError:
            if entry is None:
                raise
            return entry[0]  # stale, but the database cannot say otherwise now
        if ttl > 0:
            with self._lock:
                if len(self._entries) >= MAX_CACHED_KEYS:
                    self._entries.clear()  # crude but bounded; refilling costs one query per key
                self._entries[key] = (application, now + ttl)
        return application

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


publishable_keys = KeyCache("publishable_key")
secret_keys = KeyCache("secret_key")


def key_caches_clear() -> None:
    publishable_keys.clear()
    secret_keys.clear()


def origin_allowed(application: Application, origin: str) -> bool:
    """Exact match of the browser's ``Origin`` with one of the application's allowed origins."""
    normalised = origin.lower()
    return any(
        isinstance(allowed, str) and allowed.strip().rstrip("/").lower() == normalised
        for allowed in application.allowed_origins or ()
    )


class PublishableKeyAuthentication(BaseAuthentication):
    """The public API: ``X-Wayline-Key: wl_pk_…`` or ``?key=wl_pk_…`` (``sendBeacon`` sets no headers)."""

    def authenticate(self, request):
        key = request.META.get("HTTP_X_WAYLINE_KEY") or request._request.GET.get(KEY_QUERY_PARAMETER)
        if not key:
            raise exceptions.NotAuthenticated(
                f"Missing publishable key: send it in the {KEY_HEADER} header or the {KEY_QUERY_PARAMETER!r} query parameter."
            )
        if key.startswith(SECRET_PREFIX):
            raise exceptions.AuthenticationFailed(
                "This is a secret key, which belongs on your server only (the /api/v1/server/ endpoints). "
                "Use the publishable key here, and rotate the secret key if it reached a browser."
            )
        application = publishable_keys.get(key) if key.startswith(PUBLISHABLE_PREFIX) else None
        if application is None:
            raise exceptions.AuthenticationFailed("Unknown publishable key.")
        request._request.wayline_application = application  # for the CORS middleware, refused or not
        origin = request.META.get("HTTP_ORIGIN")
        if origin and not origin_allowed(application, origin):
            raise exceptions.PermissionDenied(
                f"Origin {origin[:200]} is not among this application's allowed origins."
            )
        return None, application

    def authenticate_header(self, request):
        return f'{KEY_HEADER} realm="api"'


class SecretKeyAuthentication(BaseAuthentication):
    """The server API: ``Authorization: Bearer wl_sk_…``."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, key = header.partition(" ")
        key = key.strip()
        if scheme.lower() != "bearer" or not key:
            raise exceptions.NotAuthenticated("Missing secret key: send 'Authorization: Bearer wl_sk_…'.")
        if key.startswith(PUBLISHABLE_PREFIX):
            raise exceptions.AuthenticationFailed(
                "This is a publishable key; the server API needs the application's secret key."
            )
        application = secret_keys.get(key) if key.startswith(SECRET_PREFIX) else None
        if application is None:
            raise exceptions.AuthenticationFailed("Unknown secret key.")
        return None, application

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class PublishableKeyScheme(OpenApiAuthenticationExtension):
    target_class = "analytics.api.authentication.PublishableKeyAuthentication"
    name = ["publishableKeyHeader", "publishableKeyQuery"]

    def get_security_requirement(self, auto_schema):
        return [{"publishableKeyHeader": []}, {"publishableKeyQuery": []}]

    def get_security_definition(self, auto_schema):
        return [
            {"type": "apiKey", "in": "header", "name": KEY_HEADER,
             "description": "The application's publishable key (wl_pk_…), safe to embed in web pages."},
            {"type": "apiKey", "in": "query", "name": KEY_QUERY_PARAMETER,
             "description": "The publishable key as a query parameter, for navigator.sendBeacon."},
        ]


class SecretKeyScheme(OpenApiAuthenticationExtension):
    target_class = "analytics.api.authentication.SecretKeyAuthentication"
    name = "secretKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "bearerFormat": "wl_sk_…",
                "description": "The application's secret key; server to server only."}
