"""SQL aggregates against the same numbers computed in plain Python from the raw rows."""
import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest

from analytics.models import Event, StageTransition
from experiments.aggregation import (
    ArmSums,
    MetricSpec,
    cluster_sums,
    compliance_counts,
    metric_spec,
    survival_counts,
    variant_sums,
)
from experiments.models import Exposure, Metric
from tests.factories import (
    make_account_with_traits,
    make_event,
    make_experiment,
    make_exposure,
    make_guide_state,
    make_known_user,
    make_transition,
)

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=30)
DAY = timedelta(days=1)
EVENT_NAMES = ("integration_connected", "report_viewed", "$guide_shown", "$pageview")


@pytest.fixture
def experiment(application):
    return make_experiment(application)


@pytest.fixture
def population(application, experiment):
    """40 users exposed over 25 days, with seeded random events and stage transitions around it."""
    rng = random.Random(7)
    control, treatment = experiment.variants.order_by("-is_control", "id")
    accounts = [make_account_with_traits(application, f"acct-{i}") for i in range(8)]
    for index in range(40):
        user = make_known_user(application, f"u{index}", account=accounts[index % 8])
        exposed_at = T0 + timedelta(hours=rng.randrange(0, 25 * 24))
        variant = control if index % 8 % 2 == 0 else treatment  # accounts 0, 2, 4, 6 in control
        make_exposure(experiment, variant, user, exposed_at, unit_id=f"account:{user.account_id}")
        for _ in range(rng.randrange(0, 7)):
            at = exposed_at + timedelta(hours=rng.randrange(-20 * 24, 30 * 24))
            make_event(user, rng.choice(EVENT_NAMES), at)
        if rng.random() < 0.5:
            make_transition(user, rng.choice(["activation", "adoption", "onboarding"]), exposed_at + timedelta(
                hours=rng.randrange(-10 * 24, 20 * 24)))
    # Boundaries, on one user of each arm: exactly at exposure (in), exactly at the window end (out),
    # exactly W days before exposure (in the pre-period), after "now" (never).
    for variant in (control, treatment):
        exposure = Exposure.objects.filter(variant=variant, exposed_at__lt=NOW - 15 * DAY).order_by("id").first()
        user = exposure.user
        for offset in (timedelta(0), 14 * DAY, -14 * DAY):
            make_event(user, "integration_connected", exposure.exposed_at + offset)
        make_event(user, "integration_connected", NOW + DAY)
    return experiment


def _in(at, start, end):
    return start <= at < end


def expected_sums(experiment, spec: MetricSpec, now) -> dict[int, ArmSums]:
    """The definitions in aggregation's docstring, written out over raw rows."""
    events = list(Event.objects.filter(application=experiment.application).values("user_id", "name", "timestamp"))
    transitions = list(StageTransition.objects.values("user_id", "to_stage_id", "at"))
    start, end = spec.window
    length = end - start
    totals: dict[int, list] = defaultdict(lambda: [0, 0.0, 0.0, 0.0, 0.0, 0.0, 0])

    def matches(name):
        if spec.event_name:
            return name == spec.event_name
        return not name.startswith("$") or name == "$pageview"

    for exposure in Exposure.objects.filter(experiment=experiment, exposed_at__lt=now):
        t = exposure.exposed_at
        mine = [e for e in events if e["user_id"] == exposure.user_id and matches(e["name"]) and e["timestamp"] < now]
        if spec.stage_ids:
            reached = [
                tr["at"] for tr in transitions
                if tr["user_id"] == exposure.user_id and tr["to_stage_id"] in spec.stage_ids and tr["at"] < now
            ]
            y = int(any(at < t + end for at in reached))
            x = int(any(at < t for at in reached))
        else:
            after = sum(1 for e in mine if _in(e["timestamp"], t + start, t + end))
            before = sum(1 for e in mine if _in(e["timestamp"], t - length, t))
            y, x = (after, before) if spec.kind == Metric.Kind.COUNT else (int(after > 0), int(before > 0))
        row = totals[exposure.variant_id]
        for i, value in enumerate((1, y, y * y, x, x * x, x * y, int(t + end > now))):
            row[i] += value
    return {variant_id: ArmSums(int(r[0]), *map(float, r[1:6]), int(r[6])) for variant_id, r in totals.items()}


def _sql(experiment, spec, now=NOW):
    sums = variant_sums(Exposure.objects.filter(experiment=experiment), spec, now=now)
    return {variant_id: arm for (_experiment, variant_id), arm in sums.items()}


SPECS = [
    pytest.param(MetricSpec("adoption", 14, "integration_connected"), id="adoption-event"),
    pytest.param(MetricSpec("activation", 7, "report_viewed"), id="activation-event"),
    pytest.param(MetricSpec("count", 10, "report_viewed"), id="count"),
    pytest.param(MetricSpec("count", 14, "integration_connected"), id="count-boundaries"),
    pytest.param(MetricSpec("retention", 14, week_number=1), id="retention-any-activity"),
    pytest.param(MetricSpec("retention", 14, "report_viewed", week_number=2), id="retention-event"),
]


@pytest.mark.parametrize("spec", SPECS)
def test_variant_sums__random_population__equal_python_over_raw_rows(population, spec):
    assert _sql(population, spec) == expected_sums(population, spec, NOW)


def test_variant_sums__activation_by_stage__counts_stage_and_later_stages(population):
    metric = Metric(experiment=population, name="Activated", kind=Metric.Kind.ACTIVATION,
                    stage=population.application.stages.get(slug="activation"))
    spec = metric_spec(metric, default_window_days=14)
    slugs = set(population.application.stages.filter(pk__in=spec.stage_ids).values_list("slug", flat=True))
    assert {"activation", "adoption", "retention"} <= slugs and "onboarding" not in slugs
    assert _sql(population, spec) == expected_sums(population, spec, NOW)
    assert sum(arm.sum_y for arm in _sql(population, spec).values()) > 0


def test_variant_sums__earlier_now__ignores_later_exposures_and_events(population):
    spec = MetricSpec("count", 14, "integration_connected")
    earlier = T0 + 12 * DAY
    sql = _sql(population, spec, now=earlier)
    assert sql == expected_sums(population, spec, earlier)
    assert sum(arm.n for arm in sql.values()) < Exposure.objects.filter(experiment=population).count()
    assert sum(arm.open_windows for arm in sql.values()) > 0


def test_variant_sums__boundaries__start_inclusive_end_exclusive(application, experiment):
    control = experiment.variants.get(is_control=True)
    user = make_known_user(application, "edge")
    make_exposure(experiment, control, user, T0)
    for at in (T0, T0 + 14 * DAY - timedelta(microseconds=1), T0 + 14 * DAY, T0 - 14 * DAY, T0 - 14 * DAY - timedelta(seconds=1)):
        make_event(user, "report_viewed", at)
    arm = _sql(experiment, MetricSpec("count", 14, "report_viewed"))[control.id]
    # y: exposure instant and the last microsecond inside; x: exactly W days before only.
    assert (arm.n, arm.sum_y, arm.sum_x, arm.sum_xy, arm.open_windows) == (1, 2.0, 1.0, 2.0, 0)


def test_variant_sums__several_experiments__grouped_by_experiment(application, population):
    other = make_experiment(application, name="Other", variants=[("control", None, 1, True), ("b", None, 1, False)])
    control = other.variants.get(is_control=True)
    for exposure in Exposure.objects.filter(experiment=population)[:5]:
        make_exposure(other, control, exposure.user, exposure.exposed_at)
    spec = MetricSpec("adoption", 14, "integration_connected")
    both = variant_sums(Exposure.objects.filter(experiment__in=[population, other]), spec, now=NOW)
    assert {key[0] for key in both} == {population.id, other.id}
    assert both[(other.id, control.id)].n == 5
    assert {v: arm for (e, v), arm in both.items() if e == population.id} == expected_sums(population, spec, NOW)


def test_cluster_sums__account_units__one_row_per_account_equal_python(population):
    spec = MetricSpec("count", 10, "report_viewed")
    clusters = {v: rows for (_e, v), rows in cluster_sums(Exposure.objects.filter(experiment=population), spec, now=NOW).items()}
    per_user = defaultdict(lambda: defaultdict(lambda: [0, 0.0]))
    events = list(Event.objects.filter(name="report_viewed").values("user_id", "timestamp"))
    for exposure in Exposure.objects.filter(experiment=population):
        y = sum(1 for e in events if e["user_id"] == exposure.user_id
                and _in(e["timestamp"], exposure.exposed_at, exposure.exposed_at + 10 * DAY) and e["timestamp"] < NOW)
        cell = per_user[exposure.variant_id][exposure.unit_id]
        cell[0] += 1
        cell[1] += y
    expected = {v: [tuple(cell) for _unit, cell in sorted(units.items())] for v, units in per_user.items()}
    assert clusters == expected
    assert all(len(rows) == 4 for rows in clusters.values())  # 8 accounts split 4 / 4


def test_survival_counts__random_population__equal_python_histogram(population):
    spec = MetricSpec("activation", 14, "integration_connected")
    counts = survival_counts(Exposure.objects.filter(experiment=population), spec, now=NOW)
    events = list(Event.objects.filter(name="integration_connected").values("user_id", "timestamp"))
    expected = defaultdict(lambda: defaultdict(int))
    for exposure in Exposure.objects.filter(experiment=population):
        t = exposure.exposed_at
        observed_until = min(NOW, t + 14 * DAY)
        hits = sorted(e["timestamp"] for e in events if e["user_id"] == exposure.user_id and t <= e["timestamp"] < NOW)
        if hits and hits[0] < observed_until:
            expected[exposure.variant_id][((hits[0] - t) // DAY, 1)] += 1
        else:
            expected[exposure.variant_id][((observed_until - t) // DAY, 0)] += 1
    got = {v: {(day, event): users for day, event, users in c.rows} for v, c in counts.items()}
    assert got == {v: dict(h) for v, h in expected.items()}
    durations, flags = counts[next(iter(counts))].durations_and_events()
    assert len(durations) == len(flags) == sum(users for _d, _e, users in counts[next(iter(counts))].rows)


def test_survival_counts__stage_reached_before_exposure__activated_at_day_zero(application, experiment):
    control = experiment.variants.get(is_control=True)
    early, late, never = (make_known_user(application, name) for name in ("early", "late", "never"))
    for user in (early, late, never):
        make_exposure(experiment, control, user, T0)
    make_transition(early, "activation", T0 - 3 * DAY)
    make_transition(late, "adoption", T0 + 2 * DAY + timedelta(hours=5))
    spec = MetricSpec("activation", 14, stage_ids=tuple(
        application.stages.filter(order__gte=application.stages.get(slug="activation").order).values_list("id", flat=True)
    ))
    counts = survival_counts(Exposure.objects.filter(experiment=experiment), spec, now=T0 + 5 * DAY)
    assert sorted(counts[control.id].rows) == [(0, 1, 1), (2, 1, 1), (5, 0, 1)]


def test_compliance_counts__shown_failed_and_silent_users__counted_per_variant(application, experiment):
    treatment = experiment.variants.get(is_control=False)
    guide = treatment.guide
    shown, failed, state_failed, silent, shown_before = (
        make_known_user(application, name) for name in ("shown", "failed", "state", "silent", "before")
    )
    for user in (shown, failed, state_failed, silent, shown_before):
        make_exposure(experiment, treatment, user, T0)
    make_event(shown, "$guide_shown", T0 + DAY, guide_id=guide.id)
    make_event(failed, "$guide_render_failed", T0 + DAY, guide_id=guide.id, reason="target_not_found")
    make_guide_state(state_failed, guide, render_failed_count=2)
    make_event(silent, "$guide_shown", T0 + DAY, guide_id=guide.id + 1000)  # another guide
    make_event(shown_before, "$guide_shown", T0 - DAY, guide_id=guide.id)  # before exposure
    counts = compliance_counts(Exposure.objects.filter(experiment=experiment), {treatment.id: guide.id}, now=NOW)
    assert counts[treatment.id].users == 5
    assert counts[treatment.id].not_shown == 4
    assert counts[treatment.id].render_failed == 2


def test_variant_sums__no_exposures__empty(experiment):
    assert _sql(experiment, MetricSpec("adoption", 14, "integration_connected")) == {}
