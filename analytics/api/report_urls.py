"""Routes of the staff-only journey analytics reports (mounted at /api/v1/reports/)."""
from django.urls import path

from analytics.api.reports import ReportGetApi

urlpatterns = [
    path("<slug:report>/", ReportGetApi.as_view(), name="report-get"),
]
