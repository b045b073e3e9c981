"""GET /api/v1/reports/<report>/: journey analytics reports as JSON (or CSV of the main table) for staff.

Readable by staff with the ``analytics.view_event`` permission (Wayline viewers and editors)
and superusers, through the admin's session. ``application`` is required; ``start`` and ``end``
(YYYY-MM-DD, inclusive, default the last 30 days), ``segment`` (a segment of that application),
``variant`` (a variant of one of its experiments: only the users exposed to it) and each report's
own options are optional; ``format=csv`` answers the report's main table. The journey map without
``start``, ``end`` and ``segment`` is the stored snapshot of the last 90 days (``snapshot`` says
when it was computed).
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

from analytics.api.report_variants import report_variant_filter
from analytics.reports.filters import ReportFilters
from analytics.reports.registry import REPORTS, parse_options
from analytics.reports.rollups import rollups_refresh_if_stale
from analytics.reports.snapshots import report_snapshot_get
from analytics.tasks_reports import reports_snapshot_refresh
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


def _id(raw: str | None, name: str) -> int | None:
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"{name}: expected the id of a {name}, got {raw[:40]!r}")


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
            OpenApiParameter("variant", OpenApiTypes.INT, description="An experiment variant: its exposed users only."),
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
            segment_id = _id(query.get("segment"), "segment")
            if segment_id is not None and not Segment.objects.filter(pk=segment_id,
                                                                     application_id=application_id).exists():
                raise ValueError("segment: no such segment in this application")
            variant_id = _id(query.get("variant"), "variant")
            if variant_id is not None and not spec.variant_filter:
                raise ValueError(f"variant: the {report} report has no experiment-variant filter")
            variant = (report_variant_filter(application_id=application_id, variant_id=variant_id)
                       if variant_id is not None else None)
            now = timezone.now()
            filters = ReportFilters.build(application_id=application_id, start=_day(query.get("start"), "start"),
                                          end=_day(query.get("end"), "end"), segment_id=segment_id, now=now,
                                          variant=variant)
            options = parse_options(spec, query)
            rollups_refresh_if_stale(application_id=application_id, now=now)
            snapshot = None
            if report == "journey-map" and not any(query.get(name) for name in ("start", "end", "segment")):
                snapshot = report_snapshot_get(application_id=application_id, report=report, now=now,
                                               refresh_later=lambda app_id: reports_snapshot_refresh.delay(app_id, report))
                result = snapshot.report
            else:
                result = spec.build(filters=filters, **options)
        except ValueError as error:
            return _bad(str(error))
        if request.accepted_renderer.format == "csv":
            response = Response(result.rows())
            response["Content-Disposition"] = f'attachment; filename="{report}-{result.meta.start}-{result.meta.end}.csv"'
            return response
        body = {"report": report, **result.to_dict()}
        if snapshot is not None:
            body["snapshot"] = {"computed_at": snapshot.computed_at.isoformat(), "seconds": round(snapshot.seconds, 3),
                                "stale": snapshot.stale}
        return Response(body)
