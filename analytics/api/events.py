"""``POST /api/v1/events`` (publishable key, JSON or sendBeacon text) and ``POST /api/v1/server/events`` (secret key)."""
from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api.authentication import PublishableKeyAuthentication, SecretKeyAuthentication
from analytics.api.errors import InvalidPayload
from analytics.api.identify import ERRORS
from analytics.api.parsers import BeaconTextParser, BoundedJSONParser
from analytics.api.serializers import EventsRequestSerializer, EventsResponseSerializer
from analytics.api.throttling import PublicApiThrottle, ServerApiThrottle
from analytics.ingest.service import events_ingest
from analytics.ingest.validation import MAX_EVENTS, PayloadError, validate_batch

DESCRIPTION = (
    f"Record up to {MAX_EVENTS} events (body at most 256 KiB). Each event is checked on its own: bad ones are "
    "listed in `rejected` with their index and field errors, the others are kept. An event id is stored once, "
    "so resending a batch is safe. Timestamps more than 5 minutes ahead are replaced by the receive time "
    "(and flagged); events older than WAYLINE_EVENT_MAX_AGE_DAYS (30) are rejected. When the server buffers "
    "events (Redis), `accepted` counts events handed over for storage and `duplicates` only repeats within "
    "the batch."
)


class EventsIngestApi(APIView):
    """Take a batch of events from the snippet."""

    authentication_classes = [PublishableKeyAuthentication]
    throttle_classes = [PublicApiThrottle]
    parser_classes = [BoundedJSONParser, BeaconTextParser]
    max_body_bytes = 256 * 1024
    verifies_identity = True

    @extend_schema(
        operation_id="events_ingest",
        tags=["public"],
        request={"application/json": EventsRequestSerializer, "text/plain": EventsRequestSerializer},
        responses={202: EventsResponseSerializer, **ERRORS},
        description=DESCRIPTION + " With identity verification on, events with user_id need that user's user_hash.",
    )
    def post(self, request):
        application = request.auth
        now = timezone.now()
        verify = self.verifies_identity and application.require_identity_verification
        try:
            batch = validate_batch(
                request.data,
                now=now,
                max_age=timedelta(days=settings.WAYLINE_EVENT_MAX_AGE_DAYS),
                identity_secret=application.identity_secret if verify else None,
            )
        except PayloadError as error:
            raise InvalidPayload(error.message, error.errors) from None
        result = events_ingest(application_id=application.id, events=batch.events, received_at=now)
        return Response(
            {"accepted": result.accepted, "duplicates": result.duplicates + batch.duplicates, "rejected": batch.rejected},
            status=202,
        )


class ServerEventsIngestApi(EventsIngestApi):
    """The same batch from the customer's backend (secret key); no user_hash needed."""

    authentication_classes = [SecretKeyAuthentication]
    throttle_classes = [ServerApiThrottle]
    parser_classes = [BoundedJSONParser]
    verifies_identity = False

    @extend_schema(
        operation_id="server_events_ingest",
        tags=["server"],
        request=EventsRequestSerializer,
        responses={202: EventsResponseSerializer, **{k: v for k, v in ERRORS.items() if k != 403}},
        description=DESCRIPTION,
    )
    def post(self, request):
        return super().post(request)
