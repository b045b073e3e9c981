"""Public API routes for identify and events (the snippet and the customer's backend)."""
from django.conf import settings
from django.urls import include, path

from analytics.api.events import EventsIngestApi, ServerEventsIngestApi
from analytics.api.identify import IdentifyApi, ServerIdentifyApi
from analytics.api.users import UserEraseApi, UserExportApi

urlpatterns = [
    path("identify", IdentifyApi.as_view(), name="api-identify"),
    path("events", EventsIngestApi.as_view(), name="api-events"),
    path("server/identify", ServerIdentifyApi.as_view(), name="api-server-identify"),
    path("server/events", ServerEventsIngestApi.as_view(), name="api-server-events"),
    path("server/users/erase", UserEraseApi.as_view(), name="api-server-user-erase"),
    path("server/users/export", UserExportApi.as_view(), name="api-server-user-export"),
]

if settings.WAYLINE_BENCH_ROUTES:  # the benchmarks' reference endpoints (bench/); never on in production
    urlpatterns.append(path("bench/", include("analytics.api.bench_routes")))
