"""``POST /api/v1/server/users/erase`` and ``GET /api/v1/server/users/export`` (secret key only).

The customer's backend forwards its own users' erasure and access requests here; the snippet's
publishable key can never reach them (``SecretKeyAuthentication``), and no CORS header is ever
sent under ``/api/v1/server/``.
"""
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api.authentication import SecretKeyAuthentication
from analytics.api.errors import InvalidPayload
from analytics.api.parsers import BoundedJSONParser
from analytics.api.serializers import ErrorSerializer
from analytics.api.throttling import ServerApiThrottle
from analytics.ingest.validation import MAX_ID_LENGTH
from analytics.models import EndUserErasure
from analytics.privacy import EndUserNotFound, end_user_erase, end_user_export


class UserEraseRequestSerializer(serializers.Serializer):
    user_id = serializers.CharField(max_length=MAX_ID_LENGTH, help_text="Your product's id of the user to erase.")


class UserErasureSerializer(serializers.Serializer):
    erasure_id = serializers.IntegerField(help_text="The audit record of this erasure (admin: End user erasures).")
    rows_deleted = serializers.DictField(
        child=serializers.IntegerField(), help_text='Rows deleted per table, e.g. {"analytics.event": 412}.'
    )
    total_rows = serializers.IntegerField()


class UserExportSerializer(serializers.Serializer):
    format = serializers.IntegerField(help_text="Version of this layout.")
    exported_at = serializers.DateTimeField()
    application = serializers.CharField()
    user = serializers.DictField(help_text="The user's own row: user_id, traits, account, stage, first and last seen.")
    data = serializers.DictField(
        child=serializers.ListField(child=serializers.DictField()),
        help_text='Every row that refers to the user, per table ("analytics.event", "analytics.surveyresponse", …).',
    )


def _errors(*codes: int) -> dict:
    texts = {
        400: "Invalid body or query; `errors` says which field.",
        401: "Missing or unknown secret key, or a publishable key.",
        404: "No user with that id in this application.",
        413: "Body over the size limit.",
        415: "Content-Type other than application/json.",
        429: "Rate limit reached; retry after `Retry-After` seconds.",
    }
    return {code: OpenApiResponse(ErrorSerializer, description=texts[code]) for code in codes}


def user_id_parse(value) -> str:
    """The user id of a request (a string, or an integer as sent by identify), or a 400."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        problem = "required: your product's id of the user (a non-empty string)"
    elif len(value) > MAX_ID_LENGTH:
        problem = f"{len(value)} characters long; the limit is {MAX_ID_LENGTH}"
    elif "\x00" in value:
        problem = "contains a NUL character"
    else:
        return value
    raise InvalidPayload(f"user_id is invalid: {problem}.", {"user_id": [problem]})


class UserEraseApi(APIView):
    """Erase one user: their events, state, survey answers and experiment exposures; audited."""

    authentication_classes = [SecretKeyAuthentication]
    throttle_classes = [ServerApiThrottle]
    parser_classes = [BoundedJSONParser]
    max_body_bytes = 4 * 1024

    @extend_schema(
        operation_id="server_user_erase",
        tags=["server"],
        request=UserEraseRequestSerializer,
        responses={200: UserErasureSerializer, **_errors(400, 401, 404, 413, 415, 429)},
        description=(
            "Right to erasure: delete the identified user and every row that refers to them (events, aliases, "
            "journey stage history, guide state, checklist completions, survey answers, segment memberships, "
            "activity rollups, experiment exposures). The erasure is recorded without personal data. Events still "
            "buffered for storage when this runs create the user again: erase again after they are stored."
        ),
    )
    def post(self, request):
        if not isinstance(request.data, dict):
            raise InvalidPayload('The body must be a JSON object like {"user_id": "…"}.')
        user_id = user_id_parse(request.data.get("user_id"))
        try:
            result = end_user_erase(
                application=request.auth, external_id=user_id, by=f"secret key of {request.auth.name}"[:200],
                via=EndUserErasure.Via.API,
            )
        except EndUserNotFound as error:
            raise NotFound(str(error)) from None
        return Response(
            {"erasure_id": result.erasure_id, "rows_deleted": result.rows_deleted, "total_rows": result.total_rows}
        )


class UserExportApi(APIView):
    """Everything stored about one user, as JSON (the right of access)."""

    authentication_classes = [SecretKeyAuthentication]
    throttle_classes = [ServerApiThrottle]

    @extend_schema(
        operation_id="server_user_export",
        tags=["server"],
        parameters=[OpenApiParameter("user_id", OpenApiTypes.STR, required=True,
                                     description="Your product's id of the user.")],
        responses={200: UserExportSerializer, **_errors(400, 401, 404, 429)},
        description="Right of access: the user's traits, account, stage, events, guide state, survey answers, "
                    "stage history and experiment exposures, every column of every row that refers to them.",
    )
    def get(self, request):
        user_id = user_id_parse(request.query_params.get("user_id"))
        try:
            export = end_user_export(application=request.auth, external_id=user_id)
        except EndUserNotFound as error:
            raise NotFound(str(error)) from None
        response = Response(export)
        response["Cache-Control"] = "no-store"
        return response
