"""Recompute tasks: snapshots of one experiment on demand and of every running one on schedule."""
from django.conf import settings

from experiments.models import Experiment, ResultSnapshot
from experiments.tasks import experiment_recompute, experiments_recompute_running
from tests.factories import make_experiment, make_live_guide
from wayline.celery import app


def test_experiment_recompute__existing__stores_snapshot_each_run(application):
    experiment = make_experiment(application, start=True)
    first = experiment_recompute.delay(experiment.id).get()
    second = experiment_recompute.delay(experiment.id).get()
    snapshots = ResultSnapshot.objects.filter(experiment=experiment).order_by("id")
    assert [s.id for s in snapshots] == [first, second]
    assert snapshots[0].outputs["verdict"] == "No users have been exposed to the experiment yet."


def test_experiment_recompute__deleted_experiment__nothing_stored(db):
    assert experiment_recompute.delay(987654).get() is None
    assert not ResultSnapshot.objects.exists()


def test_experiments_recompute_running__mixed_statuses__only_running_recomputed(application):
    running = make_experiment(application, name="Running", start=True)
    make_experiment(application, name="Draft", variants=[("control", None, 1, True), ("b", make_live_guide(application), 1, False)])
    stopped = make_experiment(application, name="Stopped", variants=[("control", None, 1, True),
                                                                    ("b", make_live_guide(application), 1, False)], start=True)
    Experiment.objects.filter(pk=stopped.pk).update(status=Experiment.Status.STOPPED)
    assert experiments_recompute_running.delay().get() == 1
    assert list(ResultSnapshot.objects.values_list("experiment_id", flat=True)) == [running.id]


def test_beat_schedule__recompute_running__every_15_minutes_and_task_registered():
    entry = settings.CELERY_BEAT_SCHEDULE["experiments.experiments_recompute_running"]
    assert entry == {"task": "experiments.experiments_recompute_running", "schedule": 900}
    app.loader.import_default_modules()
    assert entry["task"] in app.tasks
