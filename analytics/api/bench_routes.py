"""Reference endpoints for the benchmarks in ``bench/``, routed only with ``WAYLINE_BENCH_ROUTES=1``.

``bare``: DRF with nothing to do — the floor ``bench/decide.py`` measures the content endpoint against.
``validate-drf``: a bare DRF view validating the batch with a DRF serializer and storing nothing —
the ceiling the ingest endpoint is compared with. ``validate-plain``: the ingest endpoint's own
authentication, throttle, parsing and validation, without storing — to see where time goes
(``validate-plain-unthrottled``: the same without the rate-limit round trip).
"""
from django.http import HttpResponse
from django.urls import path
from django.utils import timezone
from rest_framework import serializers
from rest_framework.parsers import JSONParser
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.api.events import EventsIngestApi
from analytics.ingest.validation import validate_batch


class _Event(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField(max_length=200)
    user_id = serializers.CharField(required=False, max_length=200)
    anonymous_id = serializers.CharField(required=False, max_length=200)
    timestamp = serializers.DateTimeField(required=False)
    properties = serializers.DictField(required=False)
    url = serializers.CharField(required=False, allow_blank=True, max_length=2000)
    session_id = serializers.CharField(required=False, allow_blank=True, max_length=100)


class _Batch(serializers.Serializer):
    events = _Event(many=True, max_length=100)


class BenchBareApi(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    schema = None

    def get(self, request):
        return Response({"ok": True, "service": "wayline"})


class ValidateWithDrfApi(APIView):
    authentication_classes = []
    throttle_classes = []
    parser_classes = [JSONParser]
    schema = None

    def post(self, request):
        batch = _Batch(data=request.data)
        batch.is_valid()
        return Response({"accepted": len(batch.validated_data.get("events", [])) if not batch.errors else 0}, status=202)


class ValidatePlainApi(EventsIngestApi):
    schema = None

    def post(self, request):
        batch = validate_batch(request.data, now=timezone.now())
        return Response({"accepted": len(batch.events), "duplicates": 0, "rejected": batch.rejected}, status=202)


class ValidatePlainUnthrottledApi(ValidatePlainApi):
    throttle_classes = []


def noop(request):
    """What a benchmark client sends once it has sent its quota: 204, so it is never counted as ingest."""
    return HttpResponse(status=204)


urlpatterns = [
    path("bare", BenchBareApi.as_view()),
    path("validate-drf", ValidateWithDrfApi.as_view()),
    path("validate-plain", ValidatePlainApi.as_view()),
    path("validate-plain-unthrottled", ValidatePlainUnthrottledApi.as_view()),
    path("noop", noop),
]
