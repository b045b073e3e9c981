"""``POST /api/v1/identify`` (publishable key) and ``POST /api/v1/server/identify`` (secret key)."""
from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api.authentication import PublishableKeyAuthentication, SecretKeyAuthentication
from analytics.api.errors import InvalidPayload
from analytics.api.parsers import BeaconTextParser, BoundedJSONParser
from analytics.api.serializers import ErrorSerializer, IdentifyRequestSerializer, IdentifyResponseSerializer
from analytics.api.throttling import PublicApiThrottle, ServerApiThrottle
from analytics.ingest.validation import PayloadError, user_hash_problem, validate_identify
from analytics.services import TraitsTooLarge, user_identify

ERRORS = {
    code: OpenApiResponse(ErrorSerializer, description=text)
    for code, text in {
        400: "Invalid body; `errors` says which field.",
        401: "Missing, unknown or wrong kind of key; or user_hash missing/invalid.",
        403: "The browser's Origin is not among the application's allowed origins.",
        413: "Body over the size limit.",
        415: "Content-Type other than application/json (or text/plain).",
        429: "Rate limit reached; retry after `Retry-After` seconds.",
    }.items()
}


class IdentifyApi(APIView):
    """Tell Wayline who the user is: ids, traits, company; merges an anonymous user into an identified one."""

    authentication_classes = [PublishableKeyAuthentication]
    throttle_classes = [PublicApiThrottle]
    parser_classes = [BoundedJSONParser, BeaconTextParser]
    max_body_bytes = 64 * 1024
    verifies_identity = True

    @extend_schema(
        operation_id="identify",
        tags=["public"],
        request={"application/json": IdentifyRequestSerializer, "text/plain": IdentifyRequestSerializer},
        responses={200: IdentifyResponseSerializer, **ERRORS},
        description=(
            "Upsert the user (user_id and/or anonymous_id) and merge traits (new keys overwrite, null deletes); "
            "optionally upsert the account and link the user to it. With both ids the anonymous user's events "
            "and state move to the identified user. When the application requires identity verification, an "
            "identified call needs user_hash = HMAC-SHA256(identity secret, user_id) in hex."
        ),
    )
    def post(self, request):
        application = request.auth
        try:
            data = validate_identify(request.data)
        except PayloadError as error:
            raise InvalidPayload(error.message, error.errors) from None
        if self.verifies_identity and application.require_identity_verification and data.user_id is not None:
            problem = user_hash_problem(application.identity_secret, data.user_id, data.user_hash)
            if problem:
                raise exceptions.AuthenticationFailed(problem)
        try:
            result = user_identify(
                application_id=application.id, user_id=data.user_id, anonymous_id=data.anonymous_id,
                traits=data.traits, account_id=data.account_id, account_traits=data.account_traits, now=timezone.now(),
            )
        except TraitsTooLarge as error:
            raise InvalidPayload(error.message, {error.field: [error.message]}) from None
        return Response({"user_id": result.user_id, "anonymous_id": result.anonymous_id, "stage": result.stage})


class ServerIdentifyApi(IdentifyApi):
    """The same identify, from the customer's backend: trusted, so no user_hash is needed."""

    authentication_classes = [SecretKeyAuthentication]
    throttle_classes = [ServerApiThrottle]
    parser_classes = [BoundedJSONParser]
    verifies_identity = False

    @extend_schema(
        operation_id="server_identify",
        tags=["server"],
        request=IdentifyRequestSerializer,
        responses={200: IdentifyResponseSerializer, **{k: v for k, v in ERRORS.items() if k != 403}},
        description="Identify from your server with the secret key (Authorization: Bearer wl_sk_…).",
    )
    def post(self, request):
        return super().post(request)
