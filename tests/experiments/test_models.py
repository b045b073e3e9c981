"""Experiment models: constraints the database enforces, generated salts, role groups."""
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction

from experiments.models import Experiment, Exposure, Variant
from tests.factories import make_experiment, make_exposure, make_known_user
from wayline.roles import EDITORS, VIEWERS

T0 = datetime(2025, 4, 1, tzinfo=UTC)


def test_experiment__created__gets_its_own_random_salt(application):
    salts = {Experiment.objects.create(application=application, name=f"E{i}").salt for i in range(20)}
    assert len(salts) == 20
    assert all(len(salt) == 16 and int(salt, 16) >= 0 for salt in salts)


def test_experiment__defaults__draft_ab_by_user_sequential(application):
    experiment = Experiment.objects.create(application=application, name="Defaults")
    assert (experiment.status, experiment.kind, experiment.randomization_unit) == ("draft", "ab", "user")
    assert (experiment.sequential, experiment.alpha, experiment.power, experiment.traffic_share) == (True, 0.05, 0.8, 1.0)
    assert experiment.conversion_window_days == 14 and str(experiment) == "Defaults"


def test_variant__second_control__refused_by_database(application):
    experiment = make_experiment(application)
    with pytest.raises(IntegrityError), transaction.atomic():
        Variant.objects.create(experiment=experiment, key="another", name="Another", is_control=True)


def test_variant__duplicate_key__refused_by_database(application):
    experiment = make_experiment(application)
    with pytest.raises(IntegrityError), transaction.atomic():
        Variant.objects.create(experiment=experiment, key="treatment", name="Again")


@pytest.mark.parametrize("share", [-0.1, 1.5], ids=["negative", "above-one"])
def test_experiment__traffic_share_outside_0_1__refused_by_database(application, share):
    with pytest.raises(IntegrityError), transaction.atomic():
        Experiment.objects.create(application=application, name="Bad", traffic_share=share)


def test_exposure__same_user_twice__unique_and_ignore_conflicts_keeps_first(application):
    experiment = make_experiment(application)
    control, treatment = experiment.variants.order_by("-is_control", "id")
    user = make_known_user(application, "u-1")
    make_exposure(experiment, control, user, T0)
    Exposure.objects.bulk_create(
        [Exposure(experiment=experiment, variant=treatment, user=user, unit_id=f"user:{user.pk}", exposed_at=T0)],
        ignore_conflicts=True,
    )
    assert list(Exposure.objects.values_list("variant__key", flat=True)) == ["control"]
    with pytest.raises(IntegrityError), transaction.atomic():
        make_exposure(experiment, treatment, user, T0)


def test_str__variant_metric_exposure__readable(application):
    experiment = make_experiment(application)
    user = make_known_user(application, "u-1")
    exposure = make_exposure(experiment, experiment.variants.get(key="control"), user, T0)
    assert str(experiment.variants.get(key="control")) == "Control (control)"
    assert str(experiment.variants.get(key="treatment")) == "Treatment (treatment)"
    assert str(experiment.metrics.get()) == "Activation"
    assert str(exposure).endswith("at 2025-04-01 00:00")


def test_role_groups__experiment_models__editors_run_viewers_read(db):
    editors = set(Group.objects.get(name=EDITORS).permissions.values_list("codename", flat=True))
    viewers = set(Group.objects.get(name=VIEWERS).permissions.values_list("codename", flat=True))
    for model in ("experiment", "variant", "metric", "exposure", "resultsnapshot"):
        assert {f"add_{model}", f"change_{model}", f"view_{model}"} <= editors
        assert f"view_{model}" in viewers and f"change_{model}" not in viewers
    assert "run_experiment" in editors and "run_experiment" not in viewers
