"""Experiment life cycle: start validation, frozen design, stop, decide, exposures on merge, snapshots."""
from datetime import UTC, datetime, timedelta

import pytest
from django.core.exceptions import ValidationError

from analytics.services import users_merge
from experiments.models import Experiment, Exposure, Metric, ResultSnapshot, Variant
from experiments.services import (
    experiment_decide,
    experiment_design_errors,
    experiment_save,
    experiment_snapshot_create,
    experiment_start,
    experiment_stop,
    exposures_merge,
    metric_delete,
    metric_save,
    variant_save,
)
from experiments.versioning import code_version
from onboarding.models import Application, Guide
from tests.factories import make_experiment, make_exposure, make_guide, make_known_user, make_live_guide

T0 = datetime(2025, 2, 3, 10, 0, tzinfo=UTC)


def _no_primary(experiment):
    experiment.metrics.update(role=Metric.Role.SECONDARY)


def _two_controls(experiment):
    experiment.variants.update(is_control=False)


def _one_variant(experiment):
    experiment.variants.filter(is_control=False).delete()


def _zero_weight(experiment):
    experiment.variants.filter(is_control=False).update(weight=0)


def _unpublished_guide(experiment):
    guide = make_guide(experiment.application, name="Draft only")
    experiment.variants.filter(is_control=False).update(guide=guide)


def _no_guide_at_all(experiment):
    experiment.variants.update(guide=None)


def _metric_without_event(experiment):
    Metric.objects.create(experiment=experiment, name="Reports", kind=Metric.Kind.COUNT)


def _retention_without_week(experiment):
    Metric.objects.create(experiment=experiment, name="Week", kind=Metric.Kind.RETENTION)


def _guide_in_other_running_experiment(experiment):
    guide = experiment.variants.get(is_control=False).guide
    make_experiment(experiment.application, name="Other", variants=[("control", None, 1, True), ("b", guide, 1, False)],
                    start=True)


@pytest.mark.parametrize(
    ("break_design", "message"),
    [
        (_no_primary, "Add at least one primary metric"),
        (_two_controls, "Exactly one variant must be the control; 0 are."),
        (_one_variant, "at least two variants"),
        (_zero_weight, "its weight must be more than 0"),
        (_unpublished_guide, "publish Draft only first"),
        (_no_guide_at_all, "At least one variant must show a guide"),
        (_metric_without_event, "count needs an event name"),
        (_retention_without_week, "retention needs the week number N"),
        (_guide_in_other_running_experiment, "is already in the experiment Other"),
    ],
    ids=["no-primary", "no-control", "one-variant", "zero-weight", "unpublished-guide", "no-guide", "count-no-event",
         "retention-no-week", "guide-clash"],
)
def test_experiment_start__invalid_design__refused_with_reason_and_still_draft(application, break_design, message):
    experiment = make_experiment(application)
    break_design(experiment)
    with pytest.raises(ValidationError) as raised:
        experiment_start(experiment=experiment)
    assert any(message in text for text in raised.value.messages), raised.value.messages
    assert Experiment.objects.get(pk=experiment.pk).status == Experiment.Status.DRAFT


def test_experiment_start__valid__running_timestamped_and_config_bumped(application):
    experiment = make_experiment(application)
    version = Application.objects.get(pk=application.pk).config_version
    experiment_start(experiment=experiment, now=T0)
    experiment.refresh_from_db()
    assert (experiment.status, experiment.started_at) == (Experiment.Status.RUNNING, T0)
    assert Application.objects.get(pk=application.pk).config_version == version + 1
    with pytest.raises(ValidationError, match="Only a draft can start"):
        experiment_start(experiment=experiment)


def test_experiment_design_errors__holdout_with_guides__refused(application):
    guide = make_live_guide(application)
    experiment = make_experiment(application, kind=Experiment.Kind.HOLDOUT,
                                 variants=[("holdout", None, 10, True), ("guided", guide, 90, False)])
    assert any("a holdout's variants show no particular guide" in e for e in experiment_design_errors(experiment))


def _add_variant(experiment):
    variant_save(variant=Variant(experiment=experiment, key="late", name="Late", weight=10))


def _change_weight(experiment):
    variant = experiment.variants.get(is_control=False)
    variant.weight = 80
    variant_save(variant=variant)


def _add_metric(experiment):
    metric_save(metric=Metric(experiment=experiment, name="New", kind=Metric.Kind.ADOPTION, event_name="x"))


def _delete_metric(experiment):
    metric_delete(metric=experiment.metrics.get())


def _change_traffic_share(experiment):
    experiment.traffic_share = 0.5
    experiment_save(experiment=experiment)


def _change_stages(experiment):
    experiment_save(experiment=experiment, stages=experiment.application.stages.filter(slug="onboarding"))


@pytest.mark.parametrize(
    "change",
    [_add_variant, _change_weight, _add_metric, _delete_metric, _change_traffic_share, _change_stages],
    ids=["add-variant", "change-weight", "add-metric", "delete-metric", "traffic-share", "stages"],
)
def test_design_change__running_experiment__validation_error_explains(application, change):
    experiment = make_experiment(application, start=True)
    with pytest.raises(ValidationError) as raised:
        change(experiment)
    assert "design is frozen" in " ".join(raised.value.messages)
    assert experiment.variants.get(is_control=False).weight == 50
    assert experiment.metrics.count() == 1 and experiment.variants.count() == 2
    assert Experiment.objects.get(pk=experiment.pk).traffic_share == 1.0


def test_experiment_save__running_name_change__allowed(application):
    experiment = make_experiment(application, start=True)
    experiment.name = "Renamed"
    experiment_save(experiment=experiment)
    assert Experiment.objects.get(pk=experiment.pk).name == "Renamed"


def test_experiment_stop__running__stopped_and_final_snapshot(application, django_capture_on_commit_callbacks):
    experiment = make_experiment(application, start=True)
    with django_capture_on_commit_callbacks(execute=True):
        experiment_stop(experiment=experiment, now=T0)
    experiment.refresh_from_db()
    assert (experiment.status, experiment.stopped_at) == (Experiment.Status.STOPPED, T0)
    assert ResultSnapshot.objects.filter(experiment=experiment).count() == 1


def test_experiment_decide__ship_and_apply__winner_live_loser_unpublished(application, editor):
    current = make_live_guide(application, name="Current")
    new = make_guide(application, name="New")
    from onboarding.services import guide_publish, guide_unpublish

    guide_publish(guide=new)
    experiment = make_experiment(application, variants=[("control", current, 1, True), ("new", new, 1, False)], start=True)
    guide_unpublish(guide=new)  # e.g. pulled mid-test
    winner = experiment.variants.get(key="new")
    experiment_decide(experiment=experiment, by=editor, decision=Experiment.Decision.SHIP, note="Clear win",
                      winning_variant=winner, apply_to_guides=True, now=T0)
    experiment.refresh_from_db()
    assert (experiment.status, experiment.decision, experiment.winning_variant, experiment.decided_by) == (
        Experiment.Status.DECIDED, "ship", winner, editor)
    assert (experiment.decided_at, experiment.stopped_at, experiment.decision_note) == (T0, T0, "Clear win")
    assert Guide.objects.get(pk=new.pk).live_version is not None
    assert Guide.objects.get(pk=current.pk).live_version is None


def test_experiment_decide__ship_without_winner__refused(application, editor):
    experiment = make_experiment(application, start=True)
    with pytest.raises(ValidationError, match="winning variant"):
        experiment_decide(experiment=experiment, by=editor, decision=Experiment.Decision.SHIP, note="?")
    assert Experiment.objects.get(pk=experiment.pk).status == Experiment.Status.RUNNING


def test_experiment_decide__stop_and_apply__only_control_guide_stays_live(application, editor):
    current, new = make_live_guide(application, name="Current"), make_live_guide(application, name="New")
    experiment = make_experiment(application, variants=[("control", current, 1, True), ("new", new, 1, False)], start=True)
    experiment_decide(experiment=experiment, by=editor, decision=Experiment.Decision.STOP, note="No lift",
                      apply_to_guides=True)
    assert Guide.objects.get(pk=current.pk).live_version is not None
    assert Guide.objects.get(pk=new.pk).live_version is None
    assert Experiment.objects.get(pk=experiment.pk).winning_variant is None


@pytest.mark.parametrize(
    ("source_at", "target_at", "kept_variant"),
    [(T0, T0 + timedelta(days=1), "control"), (T0 + timedelta(days=1), T0, "treatment")],
    ids=["anonymous-first", "identified-first"],
)
def test_exposures_merge__both_exposed__earlier_exposure_wins(application, source_at, target_at, kept_variant):
    experiment = make_experiment(application, start=True)
    anonymous, identified = make_known_user(application, None), make_known_user(application, "u-1")
    make_exposure(experiment, experiment.variants.get(key="control"), anonymous, source_at)
    make_exposure(experiment, experiment.variants.get(key="treatment"), identified, target_at)
    exposures_merge(from_user=anonymous, to_user=identified)
    [exposure] = Exposure.objects.filter(experiment=experiment)
    assert (exposure.user_id, exposure.variant.key) == (identified.pk, kept_variant)


def test_users_merge__anonymous_exposure__moves_to_identified_user_via_hook(application):
    experiment = make_experiment(application, start=True)
    anonymous, identified = make_known_user(application, None), make_known_user(application, "u-1")
    make_exposure(experiment, experiment.variants.get(key="treatment"), anonymous, T0)
    users_merge(application_id=application.id, source_id=anonymous.pk, target_id=identified.pk)
    [exposure] = Exposure.objects.all()
    assert (exposure.user_id, exposure.variant.key, exposure.unit_id) == (identified.pk, "treatment", f"user:{anonymous.pk}")


def test_experiment_snapshot_create__running__inputs_outputs_and_code_version(application):
    experiment = make_experiment(application, start=True, started_at=T0)
    user = make_known_user(application, "u-1")
    make_exposure(experiment, experiment.variants.get(key="treatment"), user, T0 + timedelta(hours=1))
    snapshot = experiment_snapshot_create(experiment=experiment, now=T0 + timedelta(days=2))
    assert snapshot.code_version == code_version() and snapshot.code_version.startswith("0.1.0")
    assert snapshot.computed_at == T0 + timedelta(days=2)
    metric_id = str(experiment.metrics.get().id)
    treatment = str(experiment.variants.get(key="treatment").id)
    assert snapshot.inputs["metrics"][metric_id]["sums"][treatment]["n"] == 1
    assert snapshot.outputs["verdict"]
    assert snapshot.outputs["metrics"][0]["rows"][1]["open_windows"] == 1
