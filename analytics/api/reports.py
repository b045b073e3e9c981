"""GET /api/v1/reports/<report>/: journey analytics reports as JSON (or CSV of the main table) for staff.

Readable by staff with the ``analytics.view_event`` permission (Wayline viewers and editors)
and superusers, through the admin's session. ``application`` is required; ``start`` and ``end``
(YYYY-MM-DD, inclusive, default the last 30 days), ``segment`` (a segment of that application)
and each report's own options are optional; ``format=csv`` answers the report's main table.
"""
from __future__ import annotations

import csv
import io
from datetime import date

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.authentication import SessionAuthentication
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from analytics.reports.filters import ReportFilters
from analytics.reports.registry import REPORTS, parse_options
from analytics.reports.rollups import rollups_refresh_if_stale
from onboarding.models import Application, Segment


class CanReadReports(BasePermission):
    """Staff who may view analytics data (viewers included), or superusers."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if user is None or not user.is_authenticated or not user.is_active or not user.is_staff:
            return False
        return user.is_superuser or user.has_perm("analytics.view_event")


class ReportCsvRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None) -> bytes:
        if isinstance(data, dict):  # an error body
            data = [data]
        columns = list(dict.fromkeys(key for row in data for key in row))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(data)
        return out.getvalue().encode(self.charset)


def _bad(detail: str, code: str = "invalid", status_code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"detail": detail, "code": code}, status=status_code)


def _day(raw: str | None, name: str) -> date | None:
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{name}: expected a date like 2026-01-31, got {raw[:40]!r}")


def _segment_id(raw: str | None) -> int | None:
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"segment: expected a segment id, got {raw[:40]!r}")


class ReportGetApi(APIView):
    authentication_classes = [SessionAuthentication]
    permission_classes = [CanReadReports]
    renderer_classes = [JSONRenderer, ReportCsvRenderer]

    @extend_schema(
        operation_id="report_get",
        parameters=[
            OpenApiParameter("application", OpenApiTypes.INT, required=True),
            OpenApiParameter("start", OpenApiTypes.DATE),
            OpenApiParameter("end", OpenApiTypes.DATE),
            OpenApiParameter("segment", OpenApiTypes.INT),
            OpenApiParameter("format", OpenApiTypes.STR, enum=["json", "csv"]),
        ],
        responses={200: OpenApiTypes.OBJECT},
    )
    def get(self, request, report: str):
        spec = REPORTS.get(report)
        if spec is None:
            return _bad(f"unknown report {report[:40]!r}; use one of {', '.join(REPORTS)}", "not_found",
                        status.HTTP_404_NOT_FOUND)
        query = request.query_params
        try:
            application_id = int(query.get("application", ""))
        except ValueError:
            return _bad("application: the id of an application is required")
        if not Application.objects.filter(pk=application_id).exists():
            return _bad("application: no such application", "not_found", status.HTTP_404_NOT_FOUND)
        try:
            segment_id = _segment_id(query.get("segment"))
            if segment_id is not None and not Segment.objects.filter(pk=segment_id,
                                                                     application_id=application_id).exists():
                raise ValueError("segment: no such segment in this application")
            now = timezone.now()
            filters = ReportFilters.build(application_id=application_id, start=_day(query.get("start"), "start"),
                                          end=_day(query.get("end"), "end"), segment_id=segment_id, now=now)
            options = parse_options(spec, query)
            rollups_refresh_if_stale(application_id=application_id, now=now)
            result = spec.build(filters=filters, **options)
        except ValueError as error:
            return _bad(str(error))
        if request.accepted_renderer.format == "csv":
            response = Response(result.rows())
            response["Content-Disposition"] = f'attachment; filename="{report}-{filters.start}-{filters.end}.csv"'
            return response
        return Response({"report": report, **result.to_dict()})
