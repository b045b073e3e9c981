"""Public API routes for identify and events (the snippet and the customer's backend)."""
from django.conf import settings
from django.urls import include, path

from analytics.api.events import EventsIngestApi, ServerEventsIngestApi
from analytics.api.identify import IdentifyApi, ServerIdentifyApi

urlpatterns = [
    path("identify", IdentifyApi.as_view(), name="api-identify"),
    path("events", EventsIngestApi.as_view(), name="api-events"),
    path("server/identify", ServerIdentifyApi.as_view(), name="api-server-identify"),
    path("server/events", ServerEventsIngestApi.as_view(), name="api-server-events"),
]

if settings.WAYLINE_BENCH_ROUTES:  # bench/ingest.py's reference endpoints; never on in production
    urlpatterns.append(path("bench/", include("analytics.api.bench_routes")))
