"""Public API route for the content decision."""
from django.urls import path

from analytics.api.content import ContentApi

urlpatterns = [
    path("content", ContentApi.as_view(), name="api-content"),
]
