"""GET /api/v1/content: the guides one user should see on one page, now, in priority order."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC
from urllib.parse import urlsplit

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import AuthenticationFailed, NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api.authentication import PublishableKeyAuthentication
from analytics.api.errors import InvalidPayload
from analytics.api.serializers import ErrorSerializer
from analytics.api.throttling import PublicApiThrottle
from analytics.decision import DEVICES, Visit, decide, guide_content, throttle_trim
from analytics.facts import user_snapshot_get
from analytics.ingest.validation import user_hash_problem
from experiments.assignment import guides_for_user
from onboarding.config_cache import draft_guide_get, published_config_get
from onboarding.preview import preview_token_read

MAX_URL_LENGTH = 2000
MAX_USER_ID_LENGTH = 200
MAX_USER_HASH_LENGTH = 128
MAX_SESSION_ID_LENGTH = 100
MAX_PREVIEW_TOKEN_LENGTH = 1000
MAX_GUIDE_ID = 2**63 - 1
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ContentQuery:
    url: str
    user_id: str | None = None
    anonymous_id: str | None = None
    user_hash: str | None = None
    device: str = "desktop"
    session_id: str = ""
    preview: str | None = None
    guide_id: int | None = None


def content_query_parse(params) -> ContentQuery:
    """Validate the query string; raise ``InvalidPayload`` (400) naming each bad parameter."""
    errors: dict[str, str] = {}

    def text(name: str, limit: int) -> str | None:
        value = params.get(name)
        if value is None or value == "":
            return None
        if len(value) > limit:
            errors[name] = f"is {len(value)} characters long; the limit is {limit}."
        elif _CONTROL.search(value):
            errors[name] = "must not contain control characters."
        return value

    user_id = text("user_id", MAX_USER_ID_LENGTH)
    anonymous_id = text("anonymous_id", MAX_USER_ID_LENGTH)
    user_hash = text("user_hash", MAX_USER_HASH_LENGTH)
    if user_id is None and anonymous_id is None:
        errors["user_id"] = "is required: pass user_id (an identified user) or anonymous_id."
    url = text("url", MAX_URL_LENGTH)
    if url is None:
        errors["url"] = "is required: pass the full URL of the page, e.g. https://app.example.com/settings."
    elif "url" not in errors and not _is_page_url(url):
        errors["url"] = "must be a full http or https URL, e.g. https://app.example.com/settings."
    device = params.get("device") or "desktop"
    if device not in DEVICES:
        errors["device"] = f"must be one of {', '.join(DEVICES)}."
    session_id = text("session_id", MAX_SESSION_ID_LENGTH) or ""
    preview = text("preview", MAX_PREVIEW_TOKEN_LENGTH)
    guide_id = params.get("guide_id") or None
    if guide_id is not None:
        if guide_id.isascii() and guide_id.isdigit() and 0 < int(guide_id) <= MAX_GUIDE_ID:
            guide_id = int(guide_id)
        else:
            errors["guide_id"] = "must be a guide id (a positive whole number)."
    if errors:
        raise InvalidPayload(
            "Invalid query parameters: " + "; ".join(f"{name} {message}" for name, message in errors.items()),
            errors={name: [message] for name, message in errors.items()},
        )
    return ContentQuery(
        url=url, user_id=user_id, anonymous_id=anonymous_id, user_hash=user_hash, device=device, session_id=session_id,
        preview=preview, guide_id=guide_id,
    )


def _is_page_url(url: str) -> bool:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:  # e.g. an unbalanced IPv6 bracket or a bad port
        return False


_PARAMETERS = [
    OpenApiParameter("user_id", OpenApiTypes.STR, description="The identified user (or pass anonymous_id)."),
    OpenApiParameter("anonymous_id", OpenApiTypes.STR, description="The snippet's anonymous id, before identify."),
    OpenApiParameter(
        "user_hash", OpenApiTypes.STR,
        description="HMAC-SHA256(identity secret, user_id) in hex; required with user_id when the application "
                    "requires identity verification.",
    ),
    OpenApiParameter("url", OpenApiTypes.URI, required=True, description="The full URL of the page."),
    OpenApiParameter("device", OpenApiTypes.STR, enum=list(DEVICES), description="Default desktop."),
    OpenApiParameter("session_id", OpenApiTypes.STR, description="The snippet's session id."),
    OpenApiParameter("preview", OpenApiTypes.STR, description="A preview token: return that guide's draft."),
    OpenApiParameter("guide_id", OpenApiTypes.INT, description="Also return this guide, manual ones included."),
]


class ContentApi(APIView):
    """Which live guides to show this user on this page now, highest priority first.

    Each guide is its published payload plus the user's `state` (`seen_count`, `dismissed`,
    `completed`) and the `experiment` it is under (`null` when none); checklist items carry
    `completed`. An unknown user is answered as a new user. With `preview`, the answer is the
    draft of the previewed guide alone, whatever its targeting.
    """

    authentication_classes = [PublishableKeyAuthentication]
    throttle_classes = [PublicApiThrottle]
    # Injectable clock, as in DRF's throttles: tests pass ``ContentApi.as_view(clock=...)``.
    clock = staticmethod(timezone.now)

    @extend_schema(
        operation_id="content_get",
        parameters=_PARAMETERS,
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT, description="config_version, preview, theme and guides."),
            400: OpenApiResponse(ErrorSerializer, description="A parameter is missing or invalid."),
            401: OpenApiResponse(
                ErrorSerializer,
                description="The publishable key is missing or unknown, or user_hash is missing or wrong.",
            ),
            403: OpenApiResponse(
                ErrorSerializer,
                description="The preview token is not valid for this key, or the Origin is not allowed.",
            ),
            404: OpenApiResponse(ErrorSerializer, description="The previewed guide no longer exists."),
            429: OpenApiResponse(ErrorSerializer, description="Rate limit reached; retry after `Retry-After` seconds."),
        },
    )
    def get(self, request):
        application = request.auth  # shared by requests (a cached key lookup): never modify it
        query = content_query_parse(request.query_params)
        now = self.clock()
        if query.preview is not None:
            return self._preview(application, query.preview)
        if application.require_identity_verification and query.user_id is not None:
            # Otherwise anyone holding the public key could read what another user sees, and their state.
            problem = user_hash_problem(application.identity_secret, query.user_id, query.user_hash)
            if problem:
                raise AuthenticationFailed(problem)

        snapshot = user_snapshot_get(
            application=application, user_id=query.user_id, anonymous_id=query.anonymous_id,
            today=now.astimezone(UTC).date(),
        )
        visit = Visit(
            url=query.url, now=now, device=query.device, session_id=query.session_id, guide_id=query.guide_id
        )
        chosen = decide(snapshot.config, visit, snapshot.facts, snapshot.states)
        guides = [guide_content(guide, snapshot.states.get(guide.id), snapshot.completed_items) for guide in chosen]
        guides = guides_for_user(application=application, user=snapshot.user, guides=guides, now=now)
        config = snapshot.config
        guides = throttle_trim(config, guides, visit, snapshot.states)
        return _no_store(
            Response({"config_version": config.version, "preview": False, "theme": config.theme, "guides": guides})
        )

    def _preview(self, application, token: str) -> Response:
        grant = preview_token_read(token)
        if grant is None:
            raise PermissionDenied("The preview link is invalid or has expired; open a new one from the guide's page.")
        if grant.application_id != application.id:
            raise PermissionDenied("The preview link belongs to another application than this key.")
        guide = draft_guide_get(application_id=application.id, guide_id=grant.guide_id)
        if guide is None:
            raise NotFound("The previewed guide no longer exists.")
        config = published_config_get(application=application)
        return _no_store(
            Response({
                "config_version": config.version,
                "preview": True,
                "theme": config.theme,
                "guides": [guide_content(guide, None)],
            })
        )


def _no_store(response: Response) -> Response:
    # The answer is per user and per moment: no browser or proxy may reuse it.
    response["Cache-Control"] = "no-store"
    return response
