"""The visual builder's public endpoints, both authenticated by the page's publishable key and the
``wayline_builder`` token from its URL.

GET /api/v1/builder/session: the check the snippet's loader makes before loading the builder.

The loader calls it with the page's publishable key and the ``wayline_builder`` token from the
page URL; only a 200 makes it load the builder bundle (at the ``bundle_url`` answered here). The
answer is configuration only: the mode, the admin origin to post picks to, the draft steps of a
previewed guide and the theme — never end-user data.

POST /api/v1/builder/picks: the builder stores the picked selector for the admin form that
polls for it, for pages whose opener was cut off (see ``onboarding.builder.builder_pick_store``).
"""
from __future__ import annotations

from datetime import UTC, datetime

from django.templatetags.static import static
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.exceptions import NotFound, PermissionDenied
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api.authentication import PublishableKeyAuthentication
from analytics.api.errors import InvalidPayload
from analytics.api.throttling import PublicApiThrottle
from onboarding.builder import BuilderGuideGone, BuilderRefused, builder_pick_store, builder_session_get

MAX_TOKEN_LENGTH = 2000


def _session(token, application):
    """The builder session of ``token`` on ``application``'s page, or the API error saying why not."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        raise InvalidPayload(
            f"Invalid token: it is required (at most {MAX_TOKEN_LENGTH} characters).",
            errors={"token": ["is required: pass the wayline_builder token from the page URL."]},
        )
    try:
        return builder_session_get(token=token, application=application)
    except BuilderRefused as refused:
        raise PermissionDenied(str(refused)) from refused
    except BuilderGuideGone as gone:
        raise NotFound(str(gone)) from gone


class BuilderSessionApi(APIView):
    """Whether a builder link opens the builder on this application's page, and with what."""

    authentication_classes = [PublishableKeyAuthentication]
    throttle_classes = [PublicApiThrottle]

    @extend_schema(
        operation_id="builder_session_get",
        parameters=[OpenApiParameter("token", OpenApiTypes.STR, required=True,
                                     description="The wayline_builder token from the page URL.")],
        responses={
            200: OpenApiResponse(OpenApiTypes.OBJECT,
                                 description="mode, nonce, admin_origin, bundle_url, expires_at, theme, guide."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="The token is missing or too long."),
            401: OpenApiResponse(OpenApiTypes.OBJECT, description="The publishable key is missing or unknown."),
            403: OpenApiResponse(OpenApiTypes.OBJECT,
                                 description="Expired, forged, another application's, or its user may not edit."),
            404: OpenApiResponse(OpenApiTypes.OBJECT, description="The previewed guide no longer exists."),
        },
    )
    def get(self, request):
        application = request.auth
        session = _session(request.query_params.get("token"), application)
        grant = session.grant
        response = Response({
            "mode": grant.mode,
            "nonce": grant.nonce,
            "admin_origin": grant.admin_origin,
            "bundle_url": request.build_absolute_uri(static("wayline/builder.js")),
            "expires_at": datetime.fromtimestamp(grant.expires_at, UTC).isoformat(),
            "theme": application.theme(),
            "guide": session.guide,
        })
        response["Cache-Control"] = "no-store"
        return response


class BuilderPickApi(APIView):
    """Store a picked selector for the admin form that opened the builder link."""

    authentication_classes = [PublishableKeyAuthentication]
    throttle_classes = [PublicApiThrottle]

    @extend_schema(
        operation_id="builder_pick_create",
        request={"application/json": {
            "type": "object",
            "required": ["token", "selector", "label", "strategy"],
            "properties": {
                "token": {"type": "string"}, "selector": {"type": "string"}, "label": {"type": "string"},
                "strategy": {"type": "string"},
                "fragility": {"type": "string", "enum": ["low", "medium", "high"], "nullable": True},
            },
        }},
        responses={
            201: OpenApiResponse(OpenApiTypes.OBJECT, description="Stored for the admin form."),
            400: OpenApiResponse(OpenApiTypes.OBJECT, description="A field is missing or invalid."),
            401: OpenApiResponse(OpenApiTypes.OBJECT, description="The publishable key is missing or unknown."),
            403: OpenApiResponse(OpenApiTypes.OBJECT,
                                 description="Expired, forged, another application's, or its user may not edit."),
            404: OpenApiResponse(OpenApiTypes.OBJECT, description="The guide of the link no longer exists."),
        },
    )
    def post(self, request):
        body = request.data if isinstance(request.data, dict) else {}
        session = _session(body.get("token"), request.auth)
        try:
            builder_pick_store(session=session, pick=body)
        except ValueError as error:
            field, _, message = str(error).partition(": ")
            raise InvalidPayload(f"Invalid pick: {field} {message}", errors={field: [message]}) from error
        return Response({}, status=201)
