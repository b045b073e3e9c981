"""Experiment admin: pages, start / stop / recompute / decide actions, design frozen after start."""
import re
from datetime import UTC, datetime

import pytest
from django.urls import reverse

from experiments.models import Experiment, Metric, ResultSnapshot, Variant
from onboarding.models import Guide
from tests.factories import make_application, make_experiment, make_exposure, make_known_user, make_live_guide

CHANGELIST = "admin:experiments_experiment_changelist"
T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)


def change_url(experiment):
    return reverse("admin:experiments_experiment_change", args=[experiment.pk])


def change_data(experiment, *, design_status=None, **overrides) -> dict:
    """The change form as a browser posts it, built from the database, with ``overrides``."""
    data = {
        "name": experiment.name, "application": experiment.application_id, "hypothesis": experiment.hypothesis,
        "kind": experiment.kind, "design_status": design_status or experiment.status, "segment": "",
        "traffic_share": experiment.traffic_share, "randomization_unit": experiment.randomization_unit,
        "planned_baseline": experiment.planned_baseline, "planned_mde": experiment.planned_mde,
        "alpha": experiment.alpha, "power": experiment.power, "sequential": "on",
        "conversion_window_days": experiment.conversion_window_days,
    }
    for prefix, rows, fields in (
        ("variants", experiment.variants.order_by("id"), ["key", "name", "weight", "is_control", "guide", "guide_version"]),
        ("metrics", experiment.metrics.order_by("id"),
         ["name", "kind", "role", "direction", "event_name", "stage", "window_days", "week_number"]),
    ):
        rows = list(rows)
        data.update({f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": len(rows),
                     f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000})
        for index, row in enumerate(rows):
            data[f"{prefix}-{index}-id"] = row.pk
            data[f"{prefix}-{index}-experiment"] = experiment.pk
            for name in fields:
                value = getattr(row, f"{name}_id" if name in ("guide", "guide_version", "stage") else name)
                if isinstance(value, bool):
                    if value:
                        data[f"{prefix}-{index}-{name}"] = "on"
                else:
                    data[f"{prefix}-{index}-{name}"] = "" if value is None else value
    data.update({key: value for key, value in overrides.items() if value is not None})
    return {key: value for key, value in data.items() if value is not None}


@pytest.fixture
def draft(application):
    return make_experiment(application, name="Draft test")


@pytest.fixture
def started(application):
    return make_experiment(application, name="Running test", variants=[
        ("control", None, 50, True), ("treatment", make_live_guide(application, name="Started tour"), 50, False)],
        start=True, started_at=T0)


def test_admin__every_page_as_editor__renders(editor_client, draft, started):
    user = make_known_user(started.application, "u-1")
    make_exposure(started, started.variants.get(key="treatment"), user, T0)
    urls = [reverse(CHANGELIST), reverse("admin:experiments_experiment_add"), change_url(draft), change_url(started),
            reverse("admin:experiments_exposure_changelist"), reverse("admin:experiments_resultsnapshot_changelist")]
    for url in urls:
        assert editor_client.get(url).status_code == 200, url


def test_admin__draft__shows_sample_size_and_readiness(editor_client, draft):
    page = editor_client.get(change_url(draft)).content.decode()
    assert "users per variant to detect a change of 5.0 pp in Activation from a baseline of 20.0 %" in page
    assert "Ready: use the action" in page


def test_admin__draft_without_primary__lists_what_is_missing(editor_client, draft):
    draft.metrics.update(role=Metric.Role.SECONDARY)
    page = editor_client.get(change_url(draft)).content.decode()
    assert "Add at least one primary metric" in page


def test_admin__start_action__starts_ready_and_reports_the_rest(editor_client, application, draft):
    broken = make_experiment(application, name="No metric", metrics=[], variants=[
        ("control", None, 1, True), ("b", make_live_guide(application, name="B"), 1, False)])
    response = editor_client.post(reverse(CHANGELIST), {"action": "start_selected", "_selected_action": [draft.pk, broken.pk]},
                                  follow=True)
    assert response.status_code == 200
    assert Experiment.objects.get(pk=draft.pk).status == Experiment.Status.RUNNING
    assert Experiment.objects.get(pk=broken.pk).status == Experiment.Status.DRAFT
    assert "No metric did not start: Add at least one primary metric" in response.content.decode()


def test_admin__running__design_fields_and_inlines_read_only(editor_client, started):
    page = editor_client.get(change_url(started)).content.decode()
    assert 'name="traffic_share"' not in page
    assert 'name="variants-0-weight"' not in page
    assert 'name="name"' in page  # the name may still change
    assert "0 of" in page and "planned per variant" in page


def test_admin__running__rename_saves(editor_client, started):
    data = {"name": "Renamed", "hypothesis": "Shorter is better", "design_status": "running",
            "variants-TOTAL_FORMS": 2, "variants-INITIAL_FORMS": 2, "variants-MIN_NUM_FORMS": 0,
            "variants-MAX_NUM_FORMS": 1000, "metrics-TOTAL_FORMS": 1, "metrics-INITIAL_FORMS": 1,
            "metrics-MIN_NUM_FORMS": 0, "metrics-MAX_NUM_FORMS": 1000}
    for index, variant in enumerate(started.variants.order_by("id")):
        data[f"variants-{index}-id"], data[f"variants-{index}-experiment"] = variant.pk, started.pk
    data["metrics-0-id"], data["metrics-0-experiment"] = started.metrics.get().pk, started.pk
    response = editor_client.post(change_url(started), data)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert Experiment.objects.get(pk=started.pk).name == "Renamed"


def test_admin__page_rendered_as_draft_then_started__weight_change_refused_with_reason(editor_client, started):
    treatment = started.variants.order_by("id").last()
    data = change_data(started, design_status="draft", **{"variants-1-weight": 80})
    response = editor_client.post(change_url(started), data)
    assert response.status_code == 200
    assert "design is frozen" in response.content.decode()
    assert Variant.objects.get(pk=treatment.pk).weight == 50


def test_admin__page_rendered_as_draft_then_started__traffic_change_refused_with_reason(editor_client, started):
    response = editor_client.post(change_url(started), change_data(started, design_status="draft", traffic_share=0.3))
    assert response.status_code == 200
    assert "design is frozen" in response.content.decode()
    assert Experiment.objects.get(pk=started.pk).traffic_share == 1.0


def test_admin__draft__edit_weights_and_add_metric_saves(editor_client, draft):
    data = change_data(draft, **{"variants-1-weight": 70, "metrics-TOTAL_FORMS": 2, "metrics-1-name": "Reports",
                                 "metrics-1-kind": "count", "metrics-1-role": "secondary", "metrics-1-direction": "increase",
                                 "metrics-1-event_name": "report_viewed"})
    response = editor_client.post(change_url(draft), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    assert draft.variants.order_by("id").last().weight == 70
    assert draft.metrics.filter(kind=Metric.Kind.COUNT, event_name="report_viewed").exists()


def test_admin__metric_without_event__form_error_not_500(editor_client, draft):
    data = change_data(draft, **{"metrics-TOTAL_FORMS": 2, "metrics-1-name": "Broken", "metrics-1-kind": "adoption",
                                 "metrics-1-role": "secondary", "metrics-1-direction": "increase"})
    response = editor_client.post(change_url(draft), data)
    assert response.status_code == 200
    assert "adoption needs an event name" in response.content.decode()


def test_admin__two_controls__form_error(editor_client, draft):
    response = editor_client.post(change_url(draft), change_data(draft, **{"variants-1-is_control": "on"}))
    assert response.status_code == 200
    assert "Only one variant can be the control." in response.content.decode()


def test_admin__recompute_action__snapshot_and_latest_results_shown(editor_client, started):
    editor_client.post(reverse(CHANGELIST), {"action": "recompute_selected", "_selected_action": [started.pk]})
    assert ResultSnapshot.objects.filter(experiment=started).count() == 1
    page = editor_client.get(change_url(started)).content.decode()
    assert "No users have been exposed to the experiment yet." in page


def test_admin__decide_action__intermediate_form_then_ship_and_publish(editor_client, editor, application):
    current = make_live_guide(application, name="Current")
    new = make_live_guide(application, name="New")
    experiment = make_experiment(application, variants=[("control", current, 1, True), ("new", new, 1, False)], start=True)
    form = editor_client.post(reverse(CHANGELIST), {"action": "decide_selected", "_selected_action": [experiment.pk]})
    assert form.status_code == 200 and "Record the decision" in form.content.decode()
    winner = experiment.variants.get(key="new")
    response = editor_client.post(reverse(CHANGELIST), {
        "action": "decide_selected", "_selected_action": [experiment.pk], "apply": "1", "decision": "ship",
        "winning_variant": winner.pk, "apply_to_guides": "on", "note": "Activation +6 pp, guardrails flat",
    })
    assert response.status_code == 302
    experiment.refresh_from_db()
    assert (experiment.status, experiment.winning_variant_id, experiment.decided_by) == ("decided", winner.pk, editor)
    assert experiment.decision_note == "Activation +6 pp, guardrails flat"
    assert Guide.objects.get(pk=current.pk).live_version is None
    assert editor_client.get(change_url(experiment)).status_code == 200


def test_admin__decide_ship_without_winner__form_error(editor_client, started):
    response = editor_client.post(reverse(CHANGELIST), {
        "action": "decide_selected", "_selected_action": [started.pk], "apply": "1", "decision": "ship", "note": "x",
    })
    assert response.status_code == 200
    assert "Choose the variant to ship." in response.content.decode()
    assert Experiment.objects.get(pk=started.pk).status == Experiment.Status.RUNNING


def test_admin__viewer__reads_but_cannot_start_or_change(viewer_client, draft):
    page = viewer_client.get(change_url(draft))
    assert page.status_code == 200 and b'name="_save"' not in page.content
    viewer_client.post(reverse(CHANGELIST), {"action": "start_selected", "_selected_action": [draft.pk]})
    assert Experiment.objects.get(pk=draft.pk).status == Experiment.Status.DRAFT
    assert viewer_client.get(reverse("admin:experiments_experiment_add")).status_code == 403


def test_admin__change_page__guide_and_stage_choices_limited_to_its_application(editor_client, draft):
    other = make_application("Globex")
    foreign = make_live_guide(other, name="Foreign tour")
    page = editor_client.get(change_url(draft)).content.decode()

    def options(name):
        select = re.search(rf'<select name="{name}".*?</select>', page, re.S).group(0)
        return {int(value) for value in re.findall(r'<option value="(\d+)"', select)}

    assert options("variants-0-guide") == set(Guide.objects.filter(application=draft.application).values_list("pk", flat=True))
    assert foreign.pk not in options("variants-0-guide")
    assert options("metrics-0-stage") == set(draft.application.stages.values_list("pk", flat=True))
