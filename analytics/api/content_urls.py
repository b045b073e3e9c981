"""Public API routes for the content decision and the visual builder's session check."""
from django.urls import path

from analytics.api.builder import BuilderPickApi, BuilderSessionApi
from analytics.api.content import ContentApi

urlpatterns = [
    path("content", ContentApi.as_view(), name="api-content"),
    path("builder/session", BuilderSessionApi.as_view(), name="api-builder-session"),
    path("builder/picks", BuilderPickApi.as_view(), name="api-builder-picks"),
]
