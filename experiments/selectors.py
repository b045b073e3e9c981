"""Reads for experiments: what assignment needs per application, counts for the admin, snapshots."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db.models import Count, Prefetch

from analytics.facts import event_counts_get
from analytics.models import EndUser
from experiments.models import Experiment, Exposure, ResultSnapshot, Variant
from onboarding.config_cache import published_config_get
from onboarding.models import Application
from onboarding.rules import UserFacts, evaluate, required_counters

# Experiments that change what users see: running ones randomise; stopped ones, until decided,
# keep showing everyone the control experience so a stopped test does not leak its treatments.
APPLIED_STATUSES = (Experiment.Status.RUNNING, Experiment.Status.STOPPED)


@dataclass(frozen=True)
class VariantPlan:
    id: int
    key: str
    is_control: bool
    weight: int
    guide_id: int | None
    # A pinned version's payload (without "targeting") to serve instead of the live one.
    pinned_payload: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class ExperimentPlan:
    """A running or stopped experiment, compiled once per configuration version."""

    id: int
    kind: str
    status: str
    salt: str
    traffic_share: float
    unit: str
    variants: tuple[VariantPlan, ...]
    stage_ids: frozenset[int]
    segment_rule: Any = None  # None: no segment

    @property
    def guide_ids(self) -> frozenset[int]:
        return frozenset(variant.guide_id for variant in self.variants if variant.guide_id is not None)

    @property
    def control(self) -> VariantPlan | None:
        return next((variant for variant in self.variants if variant.is_control), None)

    @property
    def weights(self) -> tuple[int, ...]:
        return tuple(variant.weight for variant in self.variants)


def experiment_plans_load(*, application_id: int) -> tuple[ExperimentPlan, ...]:
    """Running and stopped experiments of the application with their variants; two queries."""
    experiments = (
        Experiment.objects.filter(application_id=application_id, status__in=APPLIED_STATUSES)
        .select_related("segment")
        .prefetch_related(
            Prefetch("variants", queryset=Variant.objects.select_related("guide_version").order_by("id")),
            "stages",
        )
        .order_by("id")
    )
    plans = []
    for experiment in experiments:
        variants = tuple(
            VariantPlan(
                id=variant.id,
                key=variant.key,
                is_control=variant.is_control,
                weight=variant.weight,
                guide_id=variant.guide_id,
                pinned_payload=(
                    {k: v for k, v in variant.guide_version.payload.items() if k != "targeting"}
                    if variant.guide_version_id else None
                ),
            )
            for variant in experiment.variants.all()
        )
        plans.append(
            ExperimentPlan(
                id=experiment.id,
                kind=experiment.kind,
                status=experiment.status,
                salt=experiment.salt,
                traffic_share=experiment.traffic_share,
                unit=experiment.randomization_unit,
                variants=variants,
                stage_ids=frozenset(stage.id for stage in experiment.stages.all()),
                segment_rule=experiment.segment.rule if experiment.segment_id else None,
            )
        )
    return tuple(plans)


def user_in_segment(*, application: Application, user: EndUser, rule: Any, today: date) -> bool:
    """Whether ``user`` satisfies a segment ``rule``, with the facts the content decision uses.

    Stages come from the cached published configuration (no query); the counters the rule
    reads cost one query (``analytics.facts.event_counts_get``), none when it reads none.
    """
    config = published_config_get(application=application)
    events, distinct = required_counters(rule)
    keys = set(events) | {(event, days) for names, days in distinct for event in names}
    counts = event_counts_get(user_id=user.pk, keys=keys, today=today) if keys else {}
    stages = config.stages
    stage = config.stage_slugs.get(user.stage_id) if user.stage_id else None
    if stage not in stages:  # not placed yet: at the first stage, as the content decision says
        stage = stages[0] if stages else None
    facts = UserFacts(
        traits=user.traits if isinstance(user.traits, Mapping) else {},
        account_traits=(user.account.traits or {}) if user.account_id else {},
        stage=stage,
        reached_stages=frozenset(stages[: stages.index(stage) + 1]) if stage is not None else frozenset(),
        event_counts=counts,
        distinct_counts={
            (names, days): sum(1 for event in names if counts.get((event, days), 0) > 0) for names, days in distinct
        },
    )
    return evaluate(rule, facts)


def exposure_counts(*, experiment: Experiment) -> dict[int, int]:
    """Exposed users per variant id (variants without any are absent); one query."""
    rows = Exposure.objects.filter(experiment=experiment).values("variant_id").annotate(users=Count("pk"))
    return {row["variant_id"]: row["users"] for row in rows.order_by()}


def unit_counts(*, experiment: Experiment) -> dict[int, int]:
    """Distinct randomisation units (users or accounts) per variant id; one query."""
    rows = (
        Exposure.objects.filter(experiment=experiment)
        .values("variant_id")
        .annotate(units=Count("unit_id", distinct=True))
    )
    return {row["variant_id"]: row["units"] for row in rows.order_by()}


def snapshot_latest(*, experiment: Experiment) -> ResultSnapshot | None:
    return experiment.snapshots.order_by("-computed_at", "-id").first()


def experiments_running_ids() -> list[int]:
    return list(Experiment.objects.filter(status=Experiment.Status.RUNNING).order_by("id").values_list("id", flat=True))
