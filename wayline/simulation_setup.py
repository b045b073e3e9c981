"""Run the simulated SaaS against a real application: experiments, assignment, loading, results.

An interface layer (it combines apps): the simulator lives in analytics and never imports
experiments, so this module hands it what it needs from above — the demo experiments' salts and
variants, the real assignment (``experiments.bucketing.assign`` over the unit ids
``experiments.assignment.unit_id_for`` names), and the exposures it must write on the COPY path.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from django.db import connection, transaction
from django.urls import reverse

from analytics.models import EndUser
from analytics.reports.rollups import rollups_refresh
from analytics.simulation.generator import ExperimentArm, GuideRefs, Population, Simulation, SimulationConfig, Units
from analytics.simulation.loader import (
    LoadStats, UserIds, bulk_load, copy_rows, rows_insert, simulation_load_copy, simulation_load_ingest,
)
from analytics.simulation.truth import AA, TOUR, PlantedExperiment, Truth
from experiments.assignment import experiment_plans_clear, unit_id_for
from experiments.bucketing import assign
from experiments.models import Experiment, Exposure, Metric, Variant
from experiments.selectors import ExperimentPlan, experiment_plans_load
from experiments.services import experiment_snapshot_create, experiment_start
from onboarding.models import Application, Guide, JourneyStage

logger = logging.getLogger("wayline")

# Which demo guide each planted experiment's treatment (and, for the A/A, its control) shows.
WELCOME_A, WELCOME_B = "Welcome to Chatterbox (copy A)", "Welcome to Chatterbox (copy B)"


@dataclass(frozen=True)
class DemoGuides:
    bar: Guide
    tour: Guide
    checklist: Guide
    survey: Guide
    welcome_a: Guide
    welcome_b: Guide

    def refs(self) -> GuideRefs:
        def live(guide: Guide) -> tuple[int, int]:
            return guide.id, guide.live_version.number

        items = {item.completion_event or "widget": item.id for item in self.checklist.items.order_by("order")}
        return GuideRefs(
            bar=live(self.bar), tour=live(self.tour),
            tour_steps=tuple((step.id, step.selector) for step in self.tour.steps.order_by("order")),
            checklist=live(self.checklist),
            checklist_items={"integration": items["integration_connected"], "widget": items["widget"],
                             "invite": items["teammate_invited"]},
            survey=live(self.survey), welcome=(live(self.welcome_a), live(self.welcome_b)),
        )


def demo_experiments_ensure(*, application: Application, guides: DemoGuides, truth: Truth,
                            started_at: datetime) -> dict[str, Experiment]:
    """Create and start the planted experiments (once; existing ones are returned as they are)."""
    found = {}
    for planted in truth.experiments:
        experiment = Experiment.objects.filter(application=application, name=planted.name).first()
        if experiment is None:
            experiment = _experiment_create(application, guides, planted, started_at)
        found[planted.key] = experiment
    experiment_plans_clear()
    return found


@transaction.atomic
def _experiment_create(application: Application, guides: DemoGuides, planted: PlantedExperiment,
                       started_at: datetime) -> Experiment:
    experiment = Experiment.objects.create(
        application=application, name=planted.name, hypothesis=planted.hypothesis,
        traffic_share=planted.traffic_share, planned_baseline=round(planted.control_rate, 3),
        planned_mde=round(max(abs(planted.absolute_lift), 0.03), 3), conversion_window_days=planted.window_days,
        # A fixed salt per planted experiment: with the same seed the arms, the data and so the
        # statistics are the same on every run, and the truth check is reproducible.
        salt=f"wl-{planted.key}",
    )
    if planted.key == AA:
        arms = ((guides.welcome_a, "Copy A"), (guides.welcome_b, "Copy B"))
    else:
        arms = ((None, "No guide"), (getattr(guides, planted.treatment_guide), planted.treatment_guide.title()))
    for (guide, name), key, weight, is_control in zip(arms, planted.variants, planted.weights, (True, False)):
        Variant.objects.create(experiment=experiment, key=key, name=name, weight=round(weight * 100),
                               is_control=is_control, guide=guide)
    stage = JourneyStage.objects.get(application=application, slug=planted.metric_stage) if planted.metric_stage else None
    kind = Metric.Kind.ACTIVATION if planted.key != TOUR else Metric.Kind.ADOPTION
    Metric.objects.create(experiment=experiment, name=planted.metric_name, kind=kind, role=Metric.Role.PRIMARY,
                          event_name=planted.metric_event or "", stage=stage, window_days=planted.window_days)
    if planted.key == TOUR:  # the tour also makes activation come sooner: shown by the time-to-activation curves
        Metric.objects.create(experiment=experiment, name=f"Connected an integration within {planted.window_days} days",
                              kind=Metric.Kind.ACTIVATION, role=Metric.Role.SECONDARY,
                              event_name="integration_connected", window_days=planted.window_days)
    return experiment_start(experiment=experiment, now=started_at)


def simulation_arms(experiments: dict[str, Experiment], truth: Truth) -> tuple[list[ExperimentArm], dict]:
    """The generator's view of each running experiment, and the compiled plans by planted key."""
    plans = {plan.id: plan for plan in experiment_plans_load(application_id=next(iter(experiments.values())).application_id)}
    arms, by_key = [], {}
    for key, experiment in experiments.items():
        plan = plans.get(experiment.id)
        if plan is None or plan.status != Experiment.Status.RUNNING:
            continue
        by_key[key] = plan
        arms.append(ExperimentArm(
            planted=truth.experiment(key), experiment_id=plan.id, salt=plan.salt,
            variant_keys=tuple(variant.key for variant in plan.variants), weights=plan.weights,
            traffic_share=plan.traffic_share,
        ))
    return arms, by_key


class _Unit:
    """What ``unit_id_for`` reads of a user."""

    def __init__(self, pk: int, account_id: int | None):
        self.pk, self.account_id = pk, account_id


def units_function(plans: dict[str, ExperimentPlan]):
    def units(population: Population, ids: UserIds) -> Units:
        users = [_Unit(pk, ids.accounts[account]) for pk, account in zip(ids.users, population.user_account.tolist())]
        return Units({key: [unit_id_for(plan, user) for user in users] for key, plan in plans.items()})
    return units


def _exposure_rows(plans: dict[str, ExperimentPlan], start_ms: int, chunk, ids: UserIds):
    """(experiment id, variant id, user pk, unit id, exposed at ISO) for every exposure that reached
    the server: what ``experiments.assignment`` records when the content decision first shows a variant."""
    import numpy as np

    units = units_function(plans)(chunk.population, ids)
    exposed = np.datetime_as_string(
        (start_ms + np.floor(chunk.exposure_days * 86_400_000)).astype("datetime64[ms]"), unit="ms"
    ).tolist()
    for key, plan in plans.items():
        variant_ids = [variant.id for variant in plan.variants]
        variants = chunk.variants[key]
        for u in np.flatnonzero(chunk.exposure_logged[key]).tolist():
            yield plan.id, variant_ids[variants[u]], ids.users[u], units.by_arm[key][u], exposed[u]


def exposures_write_function(plans: dict[str, ExperimentPlan], start_ms: int):
    """Record the exposures with plain inserts (the ingest path, any database); a user's existing
    exposure to an experiment is kept, as ``experiments.assignment`` keeps the first one."""
    adapt = connection.ops.adapt_datetimefield_value

    def on_chunk(chunk, ids: UserIds) -> None:
        rows_insert(
            Exposure._meta.db_table, ("experiment_id", "variant_id", "user_id", "unit_id", "exposed_at"),
            [(experiment, variant, user, unit, adapt(datetime.fromisoformat(at).replace(tzinfo=timezone.utc)))
             for experiment, variant, user, unit, at in _exposure_rows(plans, start_ms, chunk, ids)],
            on_conflict="ON CONFLICT (experiment_id, user_id) DO NOTHING",
        )
    return on_chunk


def exposures_copy_function(plans: dict[str, ExperimentPlan], start_ms: int):
    """Record the exposures with COPY (the scale path, PostgreSQL)."""
    def on_chunk(chunk, ids: UserIds) -> None:
        copy_rows("experiments_exposure", ("experiment_id", "variant_id", "user_id", "unit_id", "exposed_at"), (
            f"{experiment}\t{variant}\t{user}\t{unit}\t{at}+00\n"
            for experiment, variant, user, unit, at in _exposure_rows(plans, start_ms, chunk, ids)
        ))
    return on_chunk


def simulation_run(*, application: Application, config: SimulationConfig, guides: DemoGuides,
                   method: str = "ingest", now: datetime | None = None,
                   bulk_mode: bool = False, progress=None) -> tuple[LoadStats, Truth, dict]:
    """Create the experiments, generate and load the users and their events, refresh the rollups."""
    truth = config.truth()
    experiments = demo_experiments_ensure(application=application, guides=guides, truth=truth,
                                          started_at=config.start)
    arms, plans = simulation_arms(experiments, truth)
    simulation = Simulation(config, guides=guides.refs(), arms=arms, assign=assign)
    if method == "copy":
        stats = simulation_load_copy(application_id=application.id, simulation=simulation,
                                     units=units_function(plans),
                                     on_chunk=exposures_copy_function(plans, simulation.start_ms), now=now,
                                     bulk_mode=bulk_mode)
    else:
        stats = simulation_load_ingest(application_id=application.id, simulation=simulation,
                                       units=units_function(plans),
                                       on_chunk=exposures_write_function(plans, simulation.start_ms), now=now,
                                       progress=progress)
    started = time.perf_counter()
    with bulk_load(("analytics_userdayactivity", "analytics_eventnamedaily", "analytics_stageentrydaily"),
                   enabled=bulk_mode, stats=stats):  # millions of deferred FK checks at COMMIT otherwise
        rollups_refresh(application_id=application.id, since=None, now=now)
    stats.timed("report rollups", started)
    logger.info("simulation.loaded", extra={"application_id": application.id, "users": stats.users,
                                            "events": stats.events})
    return stats, truth, experiments


def experiments_recompute(experiments: dict[str, Experiment], *, now: datetime | None = None) -> dict:
    """A fresh result snapshot per experiment (what the result pages show)."""
    return {key: experiment_snapshot_create(experiment=experiment, now=now) for key, experiment in experiments.items()}


def simulated_users_count(*, application: Application, prefix: str) -> int:
    return EndUser.objects.filter(application=application, external_id__startswith=f"{prefix}-user-").count()


def experiment_results_url(experiment: Experiment, base: str) -> str:
    """The experiment's result page in the admin."""
    return base + reverse("admin:experiments_experiment_results", args=[experiment.pk])
