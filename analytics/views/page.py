"""The filter form every journey analytics page opens with, and the base view that runs a report.

A page names its report in ``analytics.reports.registry`` and turns the report's result into
``Section``s; this module reads the filters (application, date range, segment and the report's
own options, validated by the registry like the JSON API does), runs the report, and renders
the page — or, with ``?export=<table>``, that one table as CSV. The page as opened (default
period, everyone, default options) is served from the report's stored snapshot.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.utils import timezone
from django.utils.http import urlencode

from analytics.api.report_variants import report_variant_choices, report_variant_filter
from analytics.reports.filters import ReportFilters
from analytics.reports.registry import REPORTS, Option, ReportSpec, parse_options
from analytics.reports.rollups import rollups_refresh_if_stale
from analytics.reports.snapshots import (
    SNAPSHOT_DAYS,
    SNAPSHOTS,
    Snapshot,
    report_snapshot_get,
    snapshot_range,
)
from analytics.tasks_reports import reports_snapshot_refresh
from analytics.views.tables import Section
from onboarding.models import Application, Segment

DEFAULT_DAYS = SNAPSHOT_DAYS  # the snapshots are made for the pages' default period
# Report options that tune sampling or precision rather than the question asked: not on the form.
HIDDEN_OPTIONS = {"sample_cap", "resolution_seconds", "follow_ups", "guide"}
OPTION_LABELS = {
    "compare": "Compare segments",
    "goal_window_days": "Goal window (days)",
    "features": "Features (event names, comma-separated)",
    "retention_week": "Retained = active in week",
    "events": "Candidate events (comma-separated)",
    "early_days": "Early days",
    "interval": "Interval",
    "weeks": "Weeks",
    "inactive_days": "Churn after inactive days",
    "target_stage": "Target stage",
    "top": "Top paths",
    "max_steps": "Max steps",
    "event": "Revenue event",
    "amount_property": "Amount property",
}


def can_read_reports(user) -> bool:
    """The same rule as the reports API: staff viewers and editors, and superusers."""
    return bool(user.is_active and user.is_staff and (user.is_superuser or user.has_perm("analytics.view_event")))


def _option_field(option: Option, application: Application | None) -> forms.Field:
    label = OPTION_LABELS.get(option.param, option.param.replace("_", " ").capitalize())
    if option.param == "compare":
        segments = Segment.objects.filter(application=application).order_by("name") if application else Segment.objects.none()
        return forms.ModelMultipleChoiceField(segments, required=False, label=label,
                                              widget=forms.SelectMultiple(attrs={"size": 3}))
    if option.kind == "int":
        return forms.IntegerField(required=False, label=label, min_value=option.low, max_value=option.high)
    if option.choices:
        return forms.ChoiceField(required=False, label=label, choices=[("", "default")] + [(c, c) for c in option.choices])
    return forms.CharField(required=False, label=label, max_length=2000)


class ReportFilterForm(forms.Form):
    application = forms.ModelChoiceField(Application.objects.order_by("name", "id"), required=True,
                                         empty_label=None)
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    segment = forms.ModelChoiceField(Segment.objects.none(), required=False, label="Segment / persona",
                                     empty_label="Everyone")

    def __init__(self, data: QueryDict, *, options: tuple[Option, ...], today, variants: bool = True) -> None:
        data = data.copy()
        first = Application.objects.order_by("name", "id").first()
        data.setdefault("application", str(first.pk) if first else "")
        data.setdefault("end", today.isoformat())
        data.setdefault("start", (today - timedelta(days=DEFAULT_DAYS - 1)).isoformat())
        super().__init__(data)
        try:
            application = Application.objects.filter(pk=int(data.get("application", ""))).first()
        except ValueError:
            application = None
        self.application = application
        self.fields["segment"].queryset = Segment.objects.filter(application=application).order_by("name")
        choices = report_variant_choices(application_id=application.pk) if application and variants else []
        if choices:
            self.fields["variant"] = forms.TypedChoiceField(
                required=False, coerce=int, empty_value=None, label="Experiment variant",
                choices=[("", "Any (no variant filter)"), *choices])
        self.option_names = []
        for option in options:
            if option.param in HIDDEN_OPTIONS:
                continue
            self.fields[option.param] = _option_field(option, application)
            self.option_names.append(option.param)

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("start") and cleaned.get("end") and cleaned["start"] > cleaned["end"]:
            raise forms.ValidationError("The start date must not be after the end date.")
        return cleaned

    def variant_filter(self):
        variant_id = self.cleaned_data.get("variant")
        if variant_id is None:
            return None
        return report_variant_filter(application_id=self.application.pk, variant_id=variant_id)

    def option_query(self) -> dict[str, str]:
        """The report options as the registry parses them (``compare`` as comma-separated ids)."""
        query = {}
        for name in self.option_names:
            value = self.cleaned_data.get(name)
            if value in (None, "") or (name == "compare" and not value):
                continue
            query[name] = ",".join(str(s.pk) for s in value) if name == "compare" else str(value)
        return query


@dataclass(frozen=True)
class PageResult:
    takeaway: str
    sections: dict[str, Section]
    empty: str | None = None  # the empty-state sentence, when the report found nothing
    extra: dict[str, Any] | None = None


class ReportPage:
    """One page per report: subclasses set the names and turn the report into a ``PageResult``."""

    slug: str = ""  # in the URL, and the key of the report in the registry
    title: str = ""
    summary: str = ""  # one line on the index page
    template: str = ""
    do_not_call_in_templates = True  # a page is a view (callable); templates read its attributes

    @property
    def url_name(self) -> str:
        return f"admin:journey_{self.slug}"

    def build(self, result: Any, *, request: HttpRequest, filters: ReportFilters) -> PageResult:
        raise NotImplementedError

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not can_read_reports(request.user):
            raise PermissionDenied
        spec = REPORTS[self.slug]
        now = timezone.now()
        form = ReportFilterForm(request.GET, options=spec.options, today=now.date(), variants=spec.variant_filter)
        context: dict[str, Any] = {**admin.site.each_context(request), "title": self.title, "page": self,
                                   "form": form, "pages": PAGES}
        if form.is_valid():
            data = form.cleaned_data
            segment = data.get("segment")
            try:
                filters = ReportFilters.build(application_id=data["application"].pk, start=data.get("start"),
                                              end=data.get("end"), segment_id=segment.pk if segment else None, now=now,
                                              variant=form.variant_filter())
                options = parse_options(spec, form.option_query())
            except ValueError as error:
                form.add_error(None, str(error))
            else:
                rollups_refresh_if_stale(application_id=filters.application_id, now=now)
                snapshot = None if options else _snapshot(spec, filters)
                if snapshot is not None:
                    result = snapshot.report
                    filters = ReportFilters.build(application_id=filters.application_id, start=result.meta.start,
                                                  end=result.meta.end, now=result.meta.generated_at)
                    context["snapshot"] = snapshot
                else:
                    result = spec.build(filters=filters, **options)
                page = self.build(result, request=request, filters=filters)
                export = request.GET.get("export")
                if export:
                    section = page.sections.get(export)
                    if section is None:
                        return HttpResponse(f"unknown table {export[:40]!r}", status=404, content_type="text/plain")
                    return section.table.csv_response(f"{self.slug}-{export}-{filters.start}-{filters.end}.csv")
                context.update(result=page, filters=filters, application=data["application"],
                               export_query=_export_query(request.GET))
        return render(request, self.template, context)


def _snapshot(spec: ReportSpec, filters: ReportFilters) -> Snapshot | None:
    """The stored snapshot when the page asks its report for the default period and every user."""
    if spec.name not in SNAPSHOTS or filters.segment_id is not None or filters.variant is not None:
        return None
    if (filters.start, filters.end) != snapshot_range(filters.now):
        return None
    return report_snapshot_get(application_id=filters.application_id, report=spec.name, now=filters.now,
                               refresh_later=lambda app_id: reports_snapshot_refresh.delay(app_id, spec.name))


def _export_query(query: QueryDict) -> str:
    """The page's query string without ``export``, to which a table's export parameter is appended."""
    items = [(key, value) for key, values in query.lists() if key != "export" for value in values]
    return urlencode(items)


PAGES: list[ReportPage] = []  # filled by ``analytics.views.pages``, in the order of the index
