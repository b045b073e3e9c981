"""GET /api/v1/experiments/<id>/results/: the latest result snapshot's outputs, for staff.

Readable through the admin's session by active staff with ``experiments.view_experiment``
(Wayline viewers and editors) and superusers. The body is exactly what the snapshot stored
(``ExperimentResults.to_dict()``); an experiment without a snapshot gets one computed once.
"""
from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from experiments.models import Experiment
from experiments.views import snapshot_for_reading


class CanReadExperiments(BasePermission):
    """Staff who may view experiments (viewers included), or superusers."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
            return False
        return user.has_perm("experiments.view_experiment")


class ExperimentResultsGetApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [CanReadExperiments]
    renderer_classes = [JSONRenderer]

    @extend_schema(operation_id="experiment_results_get", responses={200: OpenApiTypes.OBJECT})
    def get(self, request, experiment_id: int):
        experiment = Experiment.objects.filter(pk=experiment_id).first()
        if experiment is None:
            return Response({"detail": "No such experiment.", "code": "not_found"}, status=status.HTTP_404_NOT_FOUND)
        snapshot = snapshot_for_reading(experiment=experiment)
        response = Response(snapshot.outputs)
        response["X-Wayline-Snapshot-Id"] = str(snapshot.id)
        response["X-Wayline-Code-Version"] = snapshot.code_version
        return response
