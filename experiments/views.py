"""Admin-site views of an experiment's results: the page, its CSV and JSON exports, recompute now.

Mounted by ``ExperimentAdmin.get_urls`` through ``result_urls``, so the admin's login redirect
and staff check apply; reading needs the experiment's view permission (viewers and editors),
recomputing needs ``experiments.run_experiment`` (editors). Pages read the latest stored
snapshot; only an experiment that has none gets one computed, once, in the request.
"""
from __future__ import annotations

import csv
import io
import logging

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.views.decorators.http import require_GET, require_POST

from experiments.models import Experiment, ResultSnapshot
from experiments.result_format import CSV_COLUMNS, csv_rows, page_sections
from experiments.selectors import snapshot_latest
from experiments.services import experiment_snapshot_create
from experiments.tasks import experiment_recompute

logger = logging.getLogger("experiments")
HISTORY_SNAPSHOTS = 30


def snapshot_for_reading(*, experiment: Experiment) -> ResultSnapshot:
    """The latest snapshot; the first reader of an experiment without one has it computed now."""
    snapshot = snapshot_latest(experiment=experiment)
    if snapshot is None:
        snapshot = experiment_snapshot_create(experiment=experiment)
        logger.info("experiment.snapshot_on_first_read", extra={"experiment_id": experiment.id,
                                                                "snapshot_id": snapshot.id})
    return snapshot


def snapshot_history(*, experiment: Experiment) -> list[dict]:
    """The last snapshots' outputs, oldest first, for the estimate-over-time chart."""
    rows = experiment.snapshots.order_by("-computed_at", "-id").values("computed_at", "outputs")[:HISTORY_SNAPSHOTS]
    return [{"computed_at": row["computed_at"].isoformat(), "outputs": row["outputs"]} for row in reversed(rows)]


def _readable_experiment(request, model_admin, object_id) -> Experiment:
    experiment = Experiment.objects.filter(pk=object_id).select_related("application").first()
    if experiment is None:
        raise Http404("No such experiment.")
    if not model_admin.has_view_permission(request, experiment):
        raise PermissionDenied
    return experiment


def can_recompute(user) -> bool:
    return user.has_perm("experiments.run_experiment")


@require_GET
def experiment_results(request, object_id, *, model_admin):
    experiment = _readable_experiment(request, model_admin, object_id)
    snapshot = snapshot_for_reading(experiment=experiment)
    sections = page_sections(snapshot.outputs, snapshot_history(experiment=experiment))
    charts = {metric["chart_id"]: metric["chart"] for metric in sections["metrics"] if metric["chart"]}
    if sections["survival"]:
        charts["wl-survival-chart"] = sections["survival"]["chart"]
    if sections["history"]["chart"]:
        charts["wl-history-chart"] = sections["history"]["chart"]
    opts = model_admin.model._meta
    context = {
        **model_admin.admin_site.each_context(request),
        "opts": opts,
        "title": f"Results: {experiment.name}",
        "experiment": experiment,
        "snapshot": snapshot,
        "s": sections,
        "charts": charts,
        "can_recompute": can_recompute(request.user),
        "csv_url": reverse("admin:experiments_experiment_results_csv", args=[experiment.pk]),
        "json_url": reverse("admin:experiments_experiment_results_json", args=[experiment.pk]),
        "api_url": reverse("experiment-results-get", args=[experiment.pk]),
        "recompute_url": reverse("admin:experiments_experiment_results_recompute", args=[experiment.pk]),
    }
    return TemplateResponse(request, "experiments/results.html", context)


@require_GET
def experiment_results_csv(request, object_id, *, model_admin):
    experiment = _readable_experiment(request, model_admin, object_id)
    snapshot = snapshot_for_reading(experiment=experiment)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(csv_rows(snapshot.outputs))
    response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="experiment-{experiment.pk}-results.csv"'
    return response


@require_GET
def experiment_results_json(request, object_id, *, model_admin):
    experiment = _readable_experiment(request, model_admin, object_id)
    snapshot = snapshot_for_reading(experiment=experiment)
    response = JsonResponse(snapshot.outputs, json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="experiment-{experiment.pk}-results.json"'
    return response


@require_POST
def experiment_results_recompute(request, object_id, *, model_admin):
    experiment = _readable_experiment(request, model_admin, object_id)
    if not can_recompute(request.user):
        raise PermissionDenied
    experiment_recompute.delay(experiment.id)
    messages.success(request, "Recomputing the results; reload in a moment if they have not changed yet.")
    return redirect("admin:experiments_experiment_results", experiment.pk)


def result_urls(model_admin) -> list:
    """URL patterns for ``ExperimentAdmin.get_urls``: the views wrapped in the admin's checks."""
    wrap = model_admin.admin_site.admin_view

    def bind(view):
        def bound(request, object_id):
            return view(request, object_id, model_admin=model_admin)
        return wrap(bound)

    return [
        path("<int:object_id>/results/", bind(experiment_results), name="experiments_experiment_results"),
        path("<int:object_id>/results.csv", bind(experiment_results_csv), name="experiments_experiment_results_csv"),
        path("<int:object_id>/results.json", bind(experiment_results_json),
             name="experiments_experiment_results_json"),
        path("<int:object_id>/results/recompute/", bind(experiment_results_recompute),
             name="experiments_experiment_results_recompute"),
    ]

