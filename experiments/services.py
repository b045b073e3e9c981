"""Writes for experiments: design changes, start / stop / decide, exposures, result snapshots."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from analytics.models import EndUser
from experiments.analysis import experiment_results_get
from experiments.models import Experiment, Exposure, Metric, ResultSnapshot, Variant
from experiments.selectors import APPLIED_STATUSES
from experiments.versioning import code_version
from onboarding.rules import validate_rule
from onboarding.services import application_config_changed, guide_publish, guide_unpublish

logger = logging.getLogger("experiments")

# What a running experiment may not change: who takes part, how they are split, what is measured.
DESIGN_FIELDS = (
    "application_id", "kind", "segment_id", "traffic_share", "randomization_unit", "planned_baseline",
    "planned_mde", "alpha", "power", "sequential", "conversion_window_days",
)


def design_frozen_message(experiment: Experiment) -> str:
    when = f" on {experiment.started_at:%Y-%m-%d %H:%M} UTC" if experiment.started_at else ""
    return (
        f"The experiment started{when}, so its design is frozen: changing who takes part, the variants, their "
        "weights or the metrics now would mix two experiments in one result. Stop it and create a new one instead."
    )


def _fresh_status(experiment_id: int) -> Experiment:
    return Experiment.objects.select_for_update().get(pk=experiment_id)


def _ensure_draft(experiment_id: int) -> Experiment:
    current = _fresh_status(experiment_id)
    if current.status != Experiment.Status.DRAFT:
        raise ValidationError(design_frozen_message(current), code="design_frozen")
    return current


@transaction.atomic
def experiment_save(*, experiment: Experiment, stages: Iterable | None = None) -> Experiment:
    """Save the experiment's own fields; design fields (and stages) only while it is a draft."""
    if experiment.pk:
        current = _fresh_status(experiment.pk)
        changed = [name for name in DESIGN_FIELDS if getattr(current, name) != getattr(experiment, name)]
        if stages is not None and {s.pk for s in stages} != set(current.stages.values_list("pk", flat=True)):
            changed.append("stages")
        if changed and current.status != Experiment.Status.DRAFT:
            raise ValidationError(
                {name.removesuffix("_id"): design_frozen_message(current) for name in changed}, code="design_frozen"
            )
        experiment.status = current.status  # never written through a form
    experiment.save()
    if stages is not None:
        experiment.stages.set(stages)
    application_config_changed(application_id=experiment.application_id)
    return experiment


@transaction.atomic
def variant_save(*, variant: Variant) -> Variant:
    _ensure_draft(variant.experiment_id)
    variant.save()
    return variant


@transaction.atomic
def variant_delete(*, variant: Variant) -> None:
    _ensure_draft(variant.experiment_id)
    variant.delete()


@transaction.atomic
def metric_save(*, metric: Metric) -> Metric:
    _ensure_draft(metric.experiment_id)
    metric.save()
    return metric


@transaction.atomic
def metric_delete(*, metric: Metric) -> None:
    _ensure_draft(metric.experiment_id)
    metric.delete()


def metric_errors(metric: Metric, *, application_id: int | None = None) -> list[str]:
    """What is wrong with one metric's definition, in words a PM understands."""
    errors = []
    label = f"Metric {metric.name or '(unnamed)'}"
    if metric.kind == Metric.Kind.ACTIVATION and not (metric.stage_id or metric.event_name):
        errors.append(f"{label}: activation needs a stage or an event.")
    if metric.kind == Metric.Kind.ACTIVATION and metric.stage_id and metric.event_name:
        errors.append(f"{label}: activation counts a stage or an event, not both.")
    if metric.kind in (Metric.Kind.ADOPTION, Metric.Kind.COUNT) and not metric.event_name:
        errors.append(f"{label}: {metric.get_kind_display().split(':')[0].lower()} needs an event name.")
    if metric.kind == Metric.Kind.RETENTION and not metric.week_number:
        errors.append(f"{label}: retention needs the week number N.")
    if metric.stage_id and metric.kind != Metric.Kind.ACTIVATION:
        errors.append(f"{label}: only activation metrics use a stage.")
    if metric.stage_id and application_id and metric.stage.application_id != application_id:
        errors.append(f"{label}: the stage belongs to another application.")
    return errors


def experiment_design_errors(experiment: Experiment) -> list[str]:
    """Everything that stops ``experiment`` from starting."""
    errors: list[str] = []
    variants = list(experiment.variants.select_related("guide", "guide__live_version", "guide_version"))
    metrics = list(experiment.metrics.select_related("stage"))
    controls = [v for v in variants if v.is_control]
    if len(variants) < 2:
        errors.append("An experiment needs at least two variants: a control and a treatment.")
    if len(controls) != 1:
        errors.append(f"Exactly one variant must be the control; {len(controls)} are.")
    errors.extend(f"Variant {v.name}: its weight must be more than 0." for v in variants if v.weight <= 0)
    if not any(m.role == Metric.Role.PRIMARY for m in metrics):
        errors.append("Add at least one primary metric: it is what the experiment is judged by.")
    for metric in metrics:
        errors.extend(metric_errors(metric, application_id=experiment.application_id))
    if experiment.traffic_share <= 0:
        errors.append("The traffic share is 0: nobody would take part.")
    if experiment.segment_id:
        if experiment.segment.application_id != experiment.application_id:
            errors.append("The segment belongs to another application.")
        errors.extend(f"Segment {experiment.segment.name}: {e}" for e in validate_rule(experiment.segment.rule))
    if experiment.stages.exclude(application_id=experiment.application_id).exists():
        errors.append("Some targeted stages belong to another application.")
    if experiment.kind == Experiment.Kind.HOLDOUT:
        if len(variants) != 2:
            errors.append("A holdout has exactly two variants: the holdout (control) and everyone with guidance.")
        errors.extend(
            f"Variant {v.name}: a holdout's variants show no particular guide." for v in variants if v.guide_id
        )
    else:
        errors.extend(_guide_errors(experiment, variants))
    return errors


def _guide_errors(experiment: Experiment, variants: list[Variant]) -> list[str]:
    errors = []
    guides = [v.guide_id for v in variants if v.guide_id]
    if not guides:
        errors.append("At least one variant must show a guide: an A/B test compares guides.")
    if len(guides) != len(set(guides)):
        errors.append("Two variants show the same guide; every variant needs its own.")
    for variant in variants:
        guide = variant.guide
        if guide is None:
            continue
        if guide.application_id != experiment.application_id:
            errors.append(f"Variant {variant.name}: the guide belongs to another application.")
        if guide.archived_at:
            errors.append(f"Variant {variant.name}: the guide {guide.name} is archived.")
        if variant.guide_version_id and variant.guide_version.guide_id != guide.id:
            errors.append(f"Variant {variant.name}: the pinned version belongs to another guide.")
        if guide.live_version_id is None:
            errors.append(
                f"Variant {variant.name}: publish {guide.name} first — a variant's guide is shown only when the "
                "content decision picks it, which needs it live (it stays hidden outside its variant)."
            )
    clashes = Variant.objects.filter(
        guide_id__in=guides,
        experiment__application_id=experiment.application_id,
        experiment__status__in=APPLIED_STATUSES,
    ).exclude(experiment=experiment).select_related("experiment", "guide")
    errors.extend(
        f"The guide {v.guide.name} is already in the experiment {v.experiment.name}; a guide can be in one at a time."
        for v in clashes
    )
    return errors


@transaction.atomic
def experiment_start(*, experiment: Experiment, by=None, now: datetime | None = None) -> Experiment:
    """Freeze the design and start assigning users."""
    experiment = _fresh_status(experiment.pk)
    if experiment.status != Experiment.Status.DRAFT:
        raise ValidationError(f"Only a draft can start; this experiment is {experiment.get_status_display().lower()}.")
    errors = experiment_design_errors(experiment)
    if errors:
        raise ValidationError(errors)
    experiment.status = Experiment.Status.RUNNING
    experiment.started_at = now or timezone.now()
    experiment.save(update_fields=["status", "started_at", "updated_at"])
    application_config_changed(application_id=experiment.application_id)
    logger.info("experiment.started", extra={"experiment_id": experiment.id, "by": getattr(by, "id", None)})
    return experiment


@transaction.atomic
def experiment_stop(*, experiment: Experiment, by=None, now: datetime | None = None) -> Experiment:
    """Stop assigning: nobody new is exposed and everyone sees the control until a decision."""
    experiment = _fresh_status(experiment.pk)
    if experiment.status != Experiment.Status.RUNNING:
        status = experiment.get_status_display().lower()
        raise ValidationError(f"Only a running experiment can stop; this one is {status}.")
    experiment.status = Experiment.Status.STOPPED
    experiment.stopped_at = now or timezone.now()
    experiment.save(update_fields=["status", "stopped_at", "updated_at"])
    application_config_changed(application_id=experiment.application_id)
    _recompute_after_commit(experiment.id)
    logger.info("experiment.stopped", extra={"experiment_id": experiment.id, "by": getattr(by, "id", None)})
    return experiment


@transaction.atomic
def experiment_decide(
    *,
    experiment: Experiment,
    by,
    decision: str,
    note: str = "",
    winning_variant: Variant | None = None,
    apply_to_guides: bool = False,
    now: datetime | None = None,
) -> Experiment:
    """Record the decision (stopping first if running), and optionally make it live.

    ``apply_to_guides`` on an A/B test: shipping publishes the winner's guide if it is not live
    (``onboarding.services.guide_publish``) and unpublishes the other variants' guides;
    stopping unpublishes every guide but the control's.
    """
    experiment = _fresh_status(experiment.pk)
    if experiment.status not in APPLIED_STATUSES:
        raise ValidationError(f"Only a running or stopped experiment can be decided; this one is {experiment.status}.")
    if decision not in Experiment.Decision.values:
        raise ValidationError(f"Unknown decision {decision!r}.")
    variants = list(experiment.variants.select_related("guide"))
    if decision == Experiment.Decision.SHIP:
        if winning_variant is None or winning_variant.pk not in {v.pk for v in variants}:
            raise ValidationError("Shipping needs the winning variant, one of this experiment's.")
    else:
        winning_variant = None
    now = now or timezone.now()
    if experiment.status == Experiment.Status.RUNNING:
        experiment.stopped_at = now
    if apply_to_guides and experiment.kind == Experiment.Kind.AB:
        keep = winning_variant if winning_variant is not None else next(v for v in variants if v.is_control)
        keep = next(v for v in variants if v.pk == keep.pk)
        if keep.guide is not None and keep.guide.live_version_id is None:
            guide_publish(guide=keep.guide, by=by)
        for variant in variants:
            if variant.guide is not None and variant.guide_id != keep.guide_id:
                guide_unpublish(guide=variant.guide, by=by)
    experiment.status = Experiment.Status.DECIDED
    experiment.decided_at, experiment.decided_by, experiment.decision = now, by, decision
    experiment.decision_note, experiment.winning_variant = note, winning_variant
    experiment.save()
    application_config_changed(application_id=experiment.application_id)
    _recompute_after_commit(experiment.id)
    logger.info(
        "experiment.decided",
        extra={"experiment_id": experiment.id, "decision": decision, "by": getattr(by, "id", None),
               "winning_variant_id": getattr(winning_variant, "id", None)},
    )
    return experiment


def _recompute_after_commit(experiment_id: int) -> None:
    from experiments.tasks import experiment_recompute  # tasks import services: resolve at call time

    transaction.on_commit(lambda: experiment_recompute.delay(experiment_id))


def experiment_snapshot_create(*, experiment: Experiment, now: datetime | None = None) -> ResultSnapshot:
    """Compute the results now and store them with their inputs and the code version."""
    now = now or timezone.now()
    results = experiment_results_get(experiment, now=now)
    snapshot = ResultSnapshot.objects.create(
        experiment=experiment, computed_at=now, code_version=code_version(),
        inputs=results.inputs, outputs=results.to_dict(),
    )
    logger.info("experiment.recomputed", extra={"experiment_id": experiment.id, "snapshot_id": snapshot.id})
    return snapshot


@transaction.atomic
def exposures_merge(*, from_user: EndUser | int, to_user: EndUser | int) -> int:
    """Move ``from_user``'s exposures to ``to_user`` before the two user rows are merged.

    Where both were exposed to the same experiment, the earlier exposure wins (the variant the
    person saw first; after sign-up that is the anonymous one) and the other is deleted. Returns
    how many exposures moved. Call it before ``from_user`` is deleted.
    """
    source, target = getattr(from_user, "pk", from_user), getattr(to_user, "pk", to_user)
    if source == target:
        return 0
    theirs = {e.experiment_id: e for e in Exposure.objects.select_for_update().filter(user_id=target)}
    moved = 0
    for exposure in Exposure.objects.select_for_update().filter(user_id=source).order_by("id"):
        existing = theirs.get(exposure.experiment_id)
        if existing is not None:
            if existing.exposed_at <= exposure.exposed_at:
                exposure.delete()
                continue
            existing.delete()
        exposure.user_id = target
        exposure.save(update_fields=["user"])
        moved += 1
    logger.info("exposures.merged", extra={"source_pk": source, "target_pk": target, "moved": moved})
    return moved

