"""The result page in the admin, its CSV / JSON exports, the JSON API and recompute-now."""
import csv
import io
from datetime import timedelta

import pytest
from django.utils import timezone

from experiments.models import ResultSnapshot
from experiments.services import experiment_snapshot_create
from tests.factories import make_experiment, make_exposed_population

START = timezone.now().replace(microsecond=0) - timedelta(days=60)
CSV_HEADER = [
    "metric", "role", "unit", "variant", "is_control", "users", "conversions", "total", "value",
    "abs_diff", "abs_diff_ci_low", "abs_diff_ci_high", "rel_lift", "rel_lift_ci_low", "rel_lift_ci_high",
    "p_value", "seq_abs_diff_ci_low", "seq_abs_diff_ci_high", "seq_p_value", "adjusted_p_value", "adjustment",
    "chance_to_beat_control", "significant",
]
METRICS = [
    {"name": "Activation", "event_name": "integration_connected"},
    {"name": "Invites", "event_name": "invite_sent", "role": "secondary"},
]


@pytest.fixture
def experiment(application):
    experiment = make_experiment(application, metrics=METRICS, start=True, started_at=START)
    make_exposed_population(experiment, {"control": (300, 60), "treatment": (300, 105)}, start=START)
    return experiment


def results_url(experiment, suffix="/"):
    return f"/admin/experiments/experiment/{experiment.pk}/results{suffix}"


@pytest.mark.parametrize("who", ["editor_client", "viewer_client"], ids=["editor", "viewer"])
def test_results_page__staff_reader__200_with_verdict_table_and_charts(request, experiment, who):
    client = request.getfixturevalue(who)
    response = client.get(results_url(experiment))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Treatment raised Activation by 15.0 pp" in html
    assert "Before you read the numbers" not in html or "Sample ratio mismatch" not in html
    assert 'data-chart="wl-metric-chart-0"' in html and 'id="wl-metric-chart-0"' in html
    assert 'data-chart="wl-survival-chart"' in html
    assert "Adjusted p (Holm)" in html and "Adjusted p (Benjamini–Hochberg)" in html
    assert "+15.0 pp" in html and "&lt; 0.001" in html
    assert ResultSnapshot.objects.filter(experiment=experiment).count() == 1  # computed once, on first read


def test_results_page__second_read__reuses_the_snapshot(editor_client, experiment):
    editor_client.get(results_url(experiment))
    editor_client.get(results_url(experiment))
    assert ResultSnapshot.objects.filter(experiment=experiment).count() == 1


def test_results_page__recompute_button__only_for_editors(client, editor, viewer, experiment):
    client.force_login(editor)
    assert b"Recompute now" in client.get(results_url(experiment)).content
    client.force_login(viewer)
    assert b"Recompute now" not in client.get(results_url(experiment)).content


def test_results_page__anonymous__redirected_to_login(client, experiment):
    response = client.get(results_url(experiment))
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_results_page__no_exposures__says_so_plainly(editor_client, application):
    experiment = make_experiment(application, start=True, started_at=START)
    html = editor_client.get(results_url(experiment)).content.decode()
    assert "Nobody has been exposed to this experiment yet" in html
    assert "data-chart=\"wl-metric-chart-0\"" not in html


def test_results_page__skewed_counts__srm_warning_with_p_and_counts(editor_client, application):
    experiment = make_experiment(application, start=True, started_at=START)
    make_exposed_population(experiment, {"control": (400, 80), "treatment": (250, 60)}, start=START)
    html = editor_client.get(results_url(experiment)).content.decode()
    assert "Before you read the numbers" in html
    assert 'data-code="srm"' in html
    assert "SRM p-value &lt; 0.001" in html
    assert "Control: 400 observed vs 325.0 expected" in html


def test_results_page__control_rate_zero__fisher_p_shown(editor_client, application):
    experiment = make_experiment(application, start=True, started_at=START)
    make_exposed_population(experiment, {"control": (40, 0), "treatment": (40, 6)}, start=START)
    html = editor_client.get(results_url(experiment)).content.decode()
    assert 'data-code="control_rate_zero"' in html
    assert "Treatment: Fisher&#x27;s exact p = 0.026" in html  # scipy.stats.fisher_exact([[6, 34], [0, 40]])


def test_results_csv__snapshot__one_row_per_metric_and_variant_equal_to_snapshot(editor_client, experiment):
    response = editor_client.get(results_url(experiment, ".csv"))
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode())))
    assert rows[0] == CSV_HEADER
    body = [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
    assert [(r["metric"], r["variant"]) for r in body] == [
        ("Activation", "Control"), ("Activation", "Treatment"), ("Invites", "Control"), ("Invites", "Treatment"),
    ]
    outputs = ResultSnapshot.objects.get(experiment=experiment).outputs
    treatment = outputs["metrics"][0]["rows"][1]
    assert int(body[1]["users"]) == treatment["users"] == 300
    assert int(body[1]["conversions"]) == treatment["conversions"] == 105
    comparison = treatment["comparison"]
    assert float(body[1]["abs_diff"]) == comparison["abs_diff"]
    assert float(body[1]["abs_diff_ci_low"]) == comparison["abs_diff_ci"][0]
    assert float(body[1]["p_value"]) == comparison["p_value"]
    assert float(body[1]["adjusted_p_value"]) == comparison["adjusted_p_value"]
    assert body[1]["adjustment"] == "holm" and body[3]["adjustment"] == "bh"
    assert body[0]["abs_diff"] == ""  # the control has no comparison


def test_results_json_and_api__snapshot__equal_to_the_analysis_outputs(viewer_client, experiment):
    snapshot = experiment_snapshot_create(experiment=experiment)
    exported = viewer_client.get(results_url(experiment, ".json"))
    api = viewer_client.get(f"/api/v1/experiments/{experiment.pk}/results/")
    assert exported.status_code == 200 and api.status_code == 200
    assert exported.json() == snapshot.outputs == api.json()
    assert api["X-Wayline-Snapshot-Id"] == str(snapshot.id)
    assert api.json()["metrics"][0]["rows"][1]["conversions"] == 105


def test_results_api__no_snapshot__computes_one_equal_to_to_dict(viewer_client, experiment):
    from experiments.analysis import experiment_results_get

    body = viewer_client.get(f"/api/v1/experiments/{experiment.pk}/results/").json()
    snapshot = ResultSnapshot.objects.get(experiment=experiment)
    fresh = experiment_results_get(experiment, now=snapshot.computed_at).to_dict()
    assert body == fresh


@pytest.mark.parametrize(
    "who,status", [("anonymous", 403), ("staff_without_perm", 403), ("viewer", 200)],
    ids=["anonymous", "staff-without-permission", "viewer"],
)
def test_results_api__caller__status(client, experiment, viewer, who, status):
    from tests.factories import make_staff_user

    if who == "staff_without_perm":
        client.force_login(make_staff_user("nobody"))
    elif who == "viewer":
        client.force_login(viewer)
    assert client.get(f"/api/v1/experiments/{experiment.pk}/results/").status_code == status


def test_results_api__unknown_experiment__404(viewer_client, db):
    assert viewer_client.get("/api/v1/experiments/999999/results/").status_code == 404


def test_recompute__viewer__403_and_no_snapshot(viewer_client, experiment):
    response = viewer_client.post(results_url(experiment, "/recompute/"))
    assert response.status_code == 403
    assert not ResultSnapshot.objects.filter(experiment=experiment).exists()


def test_recompute__editor__new_snapshot_and_back_to_the_page(editor_client, experiment):
    experiment_snapshot_create(experiment=experiment)
    response = editor_client.post(results_url(experiment, "/recompute/"))
    assert response.status_code == 302 and response["Location"] == results_url(experiment)
    assert ResultSnapshot.objects.filter(experiment=experiment).count() == 2


def test_results_page__two_snapshots__estimate_over_time_chart(editor_client, experiment):
    experiment_snapshot_create(experiment=experiment, now=timezone.now() - timedelta(days=1))
    experiment_snapshot_create(experiment=experiment)
    html = editor_client.get(results_url(experiment)).content.decode()
    assert 'data-chart="wl-history-chart"' in html


def test_changelist__results_link__points_to_the_page(viewer_client, experiment):
    html = viewer_client.get("/admin/experiments/experiment/").content.decode()
    assert f'href="{results_url(experiment)}"' in html
