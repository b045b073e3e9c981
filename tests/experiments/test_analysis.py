"""experiment_results_get: statistics from the SQL sums, verdict in words, warnings, extras."""
import json
import random
import uuid
from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import EndUser, Event
from experiments.analysis import experiment_results_get
from experiments.models import Experiment, Exposure, Metric
from experiments.stats import adjust_p_values, compare_proportions, compare_proportions_by_cluster
from tests.factories import make_account_with_traits, make_experiment, make_live_guide

T0 = datetime(2025, 1, 6, 9, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=40)

PRIMARY = {"name": "Activation", "kind": Metric.Kind.ACTIVATION, "event_name": "integration_connected"}


def populate(experiment, arms: dict[str, tuple[int, float]], *, event="integration_connected", seed=1,
             accounts: int = 0, extra_events=()):
    """``arms``: variant key -> (users, conversion rate). Users are exposed over 10 days from T0 and
    convert (do ``event``) within 5 days with the given probability. With ``accounts``, each arm gets
    its own share of that many accounts (randomised by account). Returns {key: conversions}."""
    rng = random.Random(seed)
    account_rows = [make_account_with_traits(experiment.application, f"acct-{experiment.id}-{i}") for i in range(accounts)]
    users, exposures, events, conversions = [], [], [], {}
    for arm, (key, (count, _rate)) in enumerate(arms.items()):
        variant = experiment.variants.get(key=key)
        conversions[key] = 0
        own = account_rows[arm::len(arms)]
        for index in range(count):
            account = own[index % len(own)] if accounts else None
            user = EndUser(application=experiment.application, external_id=f"{experiment.id}-{key}-{index}", account=account)
            users.append((user, variant, T0 + timedelta(minutes=rng.randrange(0, 10 * 24 * 60))))
    EndUser.objects.bulk_create([user for user, _v, _t in users])
    for user, variant, exposed_at in users:
        unit = f"account:{user.account_id}" if user.account_id else f"user:{user.pk}"
        exposures.append(Exposure(experiment=experiment, variant=variant, user=user, unit_id=unit, exposed_at=exposed_at))
        if rng.random() < arms[variant.key][1]:
            conversions[variant.key] += 1
            events.append(_event(user, event, exposed_at + timedelta(minutes=rng.randrange(1, 5 * 24 * 60))))
        for name, probability in extra_events:
            if rng.random() < probability(variant.key):
                events.append(_event(user, name, exposed_at + timedelta(hours=rng.randrange(1, 72))))
    Exposure.objects.bulk_create(exposures)
    Event.objects.bulk_create(events)
    return conversions


def _event(user, name, at):
    return Event(id=uuid.uuid4(), application_id=user.application_id, user=user, name=name, timestamp=at,
                 received_at=at, properties={})


def running(application, *, variants=None, metrics=None, **fields):
    variants = variants or [("control", None, 50, True), ("treatment", make_live_guide(application, name="T"), 50, False)]
    return make_experiment(application, variants=variants, metrics=metrics or [PRIMARY], start=True, started_at=T0,
                           **fields)


def primary_row(results, key="treatment"):
    return next(row for row in results.metrics[0].rows if row.key == key)


def test_results__planted_effect__significant_verdict_with_lift_ci_and_chance(application):
    experiment = running(application)
    conversions = populate(experiment, {"control": (800, 0.20), "treatment": (800, 0.35)})
    results = experiment_results_get(experiment, now=NOW)
    row = primary_row(results)
    expected = compare_proportions(800, conversions["control"], 800, conversions["treatment"], fisher=False)
    assert row.comparison.abs_diff == pytest.approx(expected.abs_diff)
    assert row.comparison.seq_abs_diff_ci == pytest.approx(expected.seq_abs_diff_ci, rel=0.2)
    assert row.comparison.significant and row.comparison.better is True
    low, high = row.comparison.decision_ci
    assert low <= 0.15 <= high  # the planted lift
    pp = expected.abs_diff * 100
    assert results.verdict.startswith(f"Treatment raised Activation by {pp:.1f} pp (95 % CI ")
    assert "chance to beat control > 99.9 %" in results.verdict
    assert results.metrics[0].rows[0].value == pytest.approx(conversions["control"] / 800)


def test_results__no_effect__no_detectable_difference_yet(application):
    experiment = running(application, planned_mde=0.02)
    populate(experiment, {"control": (300, 0.3), "treatment": (300, 0.3)}, seed=3)
    results = experiment_results_get(experiment, now=NOW)
    assert results.verdict.startswith("No detectable difference yet in Activation: Treatment ")
    assert "planned users per variant so far" in results.verdict
    assert {n.code for n in results.warnings} >= {"below_planned_sample"}
    assert not primary_row(results).comparison.significant


def test_results__unbalanced_split__srm_flagged_and_verdict_refuses(application):
    experiment = running(application)
    populate(experiment, {"control": (700, 0.2), "treatment": (500, 0.3)})
    results = experiment_results_get(experiment, now=NOW)
    assert results.srm.flagged and results.srm.observed == (700, 500)
    assert results.verdict.startswith("Do not trust these results")
    assert "srm" in {n.code for n in results.warnings}


def test_results__draft__not_started_with_plan(application):
    experiment = make_experiment(application, metrics=[PRIMARY])
    results = experiment_results_get(experiment, now=NOW)
    assert results.verdict == "Not started yet: there are no results."
    assert results.metrics == ()
    assert results.plan.planned_users_per_variant > 0
    assert results.plan.sentence.startswith(f"Needs {results.plan.planned_users_per_variant:,} users per variant")


def test_results__two_treatments__holm_over_primary_comparisons(application):
    variants = [("control", None, 1, True), ("b", make_live_guide(application, name="B"), 1, False),
                ("c", make_live_guide(application, name="C"), 1, False)]
    experiment = running(application, variants=variants, sequential=False)
    populate(experiment, {"control": (500, 0.2), "b": (500, 0.26), "c": (500, 0.22)})
    rows = [row for row in experiment_results_get(experiment, now=NOW).metrics[0].rows if row.comparison]
    raw = [row.comparison.p_value for row in rows]
    assert [row.comparison.decision_p_value for row in rows] == raw  # fixed horizon: decision p = p
    assert [row.comparison.adjusted_p_value for row in rows] == pytest.approx(adjust_p_values(raw, "holm"))
    assert all(row.comparison.adjustment == "holm" for row in rows)


def test_results__sequential_on__decision_uses_always_valid_interval(application):
    experiment = running(application)
    populate(experiment, {"control": (400, 0.2), "treatment": (400, 0.3)})
    comparison = primary_row(experiment_results_get(experiment, now=NOW)).comparison
    assert comparison.decision_p_value == comparison.seq_p_value
    assert comparison.decision_ci == comparison.seq_abs_diff_ci
    low, high = comparison.seq_abs_diff_ci
    fixed_low, fixed_high = comparison.abs_diff_ci
    assert low < fixed_low and high > fixed_high


def test_results__guardrail_worse__warned_and_in_verdict(application):
    metrics = [PRIMARY, {"name": "Tickets", "kind": Metric.Kind.ADOPTION, "role": Metric.Role.GUARDRAIL,
                         "event_name": "support_ticket_opened", "direction": Metric.Direction.DECREASE}]
    experiment = running(application, metrics=metrics)
    populate(experiment, {"control": (600, 0.2), "treatment": (600, 0.2)},
             extra_events=[("support_ticket_opened", lambda key: 0.3 if key == "treatment" else 0.1)])
    results = experiment_results_get(experiment, now=NOW)
    guardrail = next(m for m in results.metrics if m.role == Metric.Role.GUARDRAIL)
    assert guardrail.rows[1].comparison.better is False
    assert guardrail.rows[1].comparison.chance_to_beat_control < 0.01  # "better" means fewer tickets
    assert "guardrail_degraded" in {n.code for n in results.warnings}
    assert "Guardrail Tickets got worse in Treatment" in results.verdict


def test_results__sequential_off_below_plan__peeking_warning(application):
    experiment = running(application, sequential=False, planned_mde=0.01)
    populate(experiment, {"control": (100, 0.2), "treatment": (100, 0.2)})
    assert "peeking_without_sequential" in {n.code for n in experiment_results_get(experiment, now=NOW).warnings}


def test_results__control_never_converts__warning_and_no_relative_lift(application):
    experiment = running(application)
    populate(experiment, {"control": (200, 0.0), "treatment": (200, 0.2)})
    results = experiment_results_get(experiment, now=NOW)
    assert "control_rate_zero" in {n.code for n in results.warnings}
    assert primary_row(results).comparison.rel_lift is None


def test_results__account_randomisation__cluster_robust_from_account_sums(application):
    experiment = running(application, randomization_unit=Experiment.Unit.ACCOUNT)
    populate(experiment, {"control": (300, 0.2), "treatment": (300, 0.3)}, accounts=30)
    results = experiment_results_get(experiment, now=NOW)
    comparison = primary_row(results).comparison
    assert comparison.clustered and comparison.cuped is None
    clusters = {}
    for key in ("control", "treatment"):
        per_account = {}
        for exposure in Exposure.objects.filter(experiment=experiment, variant__key=key):
            converted = Event.objects.filter(user=exposure.user, name="integration_connected",
                                             timestamp__lt=exposure.exposed_at + timedelta(days=14)).exists()
            users, conv = per_account.get(exposure.unit_id, (0, 0))
            per_account[exposure.unit_id] = (users + 1, conv + int(converted))
        clusters[key] = list(per_account.values())
    expected = compare_proportions_by_cluster(clusters["control"], clusters["treatment"])
    assert comparison.abs_diff == pytest.approx(expected.abs_diff)
    assert comparison.p_value == pytest.approx(expected.p_value)
    assert results.srm.unit == "accounts" and sum(results.srm.observed) == 30
    assert "cluster_robust" in {n.code for n in results.warnings}


def test_results__count_metric_with_history__cuped_headline_reduces_variance(application):
    metrics = [{"name": "Reports", "kind": Metric.Kind.COUNT, "event_name": "report_viewed"}]
    experiment = running(application, metrics=metrics)
    rng = random.Random(5)
    populate(experiment, {"control": (300, 0.0), "treatment": (300, 0.0)})
    events = []
    for exposure in Exposure.objects.filter(experiment=experiment).select_related("user", "variant"):
        habit = rng.choice([0, 1, 2, 4, 8])  # the same habit before and after exposure
        lift = 1 if exposure.variant.key == "treatment" else 0
        for offset in range(habit):
            events.append(_event(exposure.user, "report_viewed", exposure.exposed_at - timedelta(days=1 + offset % 10)))
        for offset in range(habit + lift):
            events.append(_event(exposure.user, "report_viewed", exposure.exposed_at + timedelta(days=1 + offset % 10)))
    Event.objects.bulk_create(events)
    comparison = primary_row(experiment_results_get(experiment, now=NOW)).comparison
    assert comparison.cuped.variance_reduction > 0.5
    assert comparison.abs_diff == pytest.approx(comparison.cuped.abs_diff)
    assert comparison.abs_diff == pytest.approx(1.0, abs=0.3)


def test_results__to_dict__json_with_page_keys(application):
    experiment = running(application)
    populate(experiment, {"control": (200, 0.2), "treatment": (200, 0.3)})
    data = json.loads(json.dumps(experiment_results_get(experiment, now=NOW).to_dict()))
    assert set(data) == {"experiment", "computed_at", "verdict", "variants", "metrics", "srm", "plan", "warnings",
                         "noncompliance", "time_to_activation"}
    row = data["metrics"][0]["rows"][1]
    assert {"users", "conversions", "value", "open_windows", "comparison"} <= set(row)
    assert {"abs_diff", "abs_diff_ci", "rel_lift", "rel_lift_ci", "p_value", "adjusted_p_value", "chance_to_beat_control",
            "seq_abs_diff_ci", "seq_p_value", "cuped"} <= set(row["comparison"])
    assert {"planned_users_per_variant", "progress", "detectable_now", "sentence"} <= set(data["plan"])
    assert data["time_to_activation"]["curves"][0]["survival"]


def test_results__time_to_activation__curve_per_variant_and_logrank(application):
    experiment = running(application)
    populate(experiment, {"control": (300, 0.2), "treatment": (300, 0.5)})
    survival = experiment_results_get(experiment, now=NOW).time_to_activation
    assert [curve.key for curve in survival.curves] == ["control", "treatment"]
    assert [curve.n for curve in survival.curves] == [300, 300]
    assert survival.curves[1].survival[-1] < survival.curves[0].survival[-1]
    assert survival.logrank_p_value < 0.001


def test_results__treatment_guide_rarely_shown__noncompliance_reported(application):
    experiment = running(application)
    populate(experiment, {"control": (50, 0.2), "treatment": (50, 0.2)})
    guide_id = experiment.variants.get(key="treatment").guide_id
    shown = Exposure.objects.filter(experiment=experiment, variant__key="treatment").order_by("id")[:20]
    Event.objects.bulk_create([_event(e.user, "$guide_shown", e.exposed_at + timedelta(minutes=1)) for e in shown])
    Event.objects.filter(name="$guide_shown").update(properties={"guide_id": guide_id})
    results = experiment_results_get(experiment, now=NOW)
    [row] = results.noncompliance
    assert (row.key, row.users, row.not_shown, row.not_shown_share) == ("treatment", 50, 30, 0.6)
    assert "noncompliance" in {n.code for n in results.warnings}
