"""The planted truths of the simulated SaaS are found by the result pages and reports (CI size)."""
import dataclasses
from io import StringIO

import pytest
from django.core.management import call_command

from analytics.simulation.truth import BAR, truth_read
from experiments.models import Experiment
from onboarding.models import Application
from wayline.truth_check import truth_checks

USERS, SEED = 3000, 11


# Sequences are reset so the users get the same ids on every run and database: assignment hashes
# "user:<id>", so the same ids mean the same arms, the same data and the same statistics.
@pytest.mark.django_db(transaction=True, reset_sequences=True)
def test_check_truth__small_simulation__every_planted_truth_found_and_a_wrong_one_is_not(tmp_path):
    # Given a few thousand simulated users loaded through the ingest writer. At this size a sample
    # ratio mismatch of 8 % is not detectable yet, so the planted logging bug loses 30 %.
    out = StringIO()
    truth_path = tmp_path / "truth.json"

    # When the truths are checked against the experiment results and reports
    call_command("check_truth", "--users", str(USERS), "--seed", str(SEED), "--srm-drop", "0.3",
                 "--truth", str(truth_path), stdout=out)

    # Then every one is found …
    text = out.getvalue()
    assert "FAIL" not in text
    assert "11 of 11 truths found" in text

    # … and a truth that was not planted (a lift of 40 points) is rejected by the same check
    truth, _ = truth_read(truth_path)
    bar = truth.experiment(BAR)
    wrong = dataclasses.replace(truth, experiments=tuple(
        dataclasses.replace(p, treatment_rate=p.control_rate + 0.40) if p is bar else p for p in truth.experiments
    ))
    application = Application.objects.get(name__startswith="Chatterbox (truth check")
    experiments = {p.key: Experiment.objects.get(application=application, name=p.name) for p in truth.experiments}
    checks = {check.name: check.passed for check in truth_checks(application=application, experiments=experiments,
                                                                   truth=wrong)}
    assert checks["Integration bar: planted lift inside the 95 % CI"] is False
