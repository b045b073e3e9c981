"""Routes of the staff-only experiment result API (mounted at /api/v1/experiments/)."""
from django.urls import path

from experiments.api.views import ExperimentResultsGetApi

urlpatterns = [
    path("<int:experiment_id>/results/", ExperimentResultsGetApi.as_view(), name="experiment-results-get"),
]
