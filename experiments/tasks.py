"""Celery tasks of experiments: an interface that calls one service each."""
import logging

from celery import shared_task

from experiments.models import Experiment
from experiments.selectors import experiments_running_ids
from experiments.services import experiment_snapshot_create

logger = logging.getLogger("experiments")


@shared_task(name="experiments.experiment_recompute", ignore_result=True)
def experiment_recompute(experiment_id: int) -> int | None:
    """Store a fresh result snapshot of one experiment; returns its id (None if the experiment is gone).

    Safe to run twice: each run adds one snapshot computed from the data as it is then.
    """
    experiment = Experiment.objects.filter(pk=experiment_id).first()
    if experiment is None:
        logger.warning("experiment.recompute_missing", extra={"experiment_id": experiment_id})
        return None
    return experiment_snapshot_create(experiment=experiment).id


@shared_task(name="experiments.experiments_recompute_running", ignore_result=True)
def experiments_recompute_running() -> int:
    """Queue a recompute of every running experiment (scheduled by beat); returns how many."""
    ids = experiments_running_ids()
    for experiment_id in ids:
        experiment_recompute.delay(experiment_id)
    return len(ids)
