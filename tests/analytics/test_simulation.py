"""The simulated SaaS: determinism, planted rates, the event contract, and both load paths."""
from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone

import numpy as np
import pytest
from django.db import connection

from analytics.ingest.validation import validate_batch
from analytics.models import ChecklistItemCompletion, EndUser, Event, GuideState, StageTransition, SurveyResponse
from analytics.simulation.events import EVENT_NAMES
from analytics.simulation.generator import ExperimentArm, Simulation, SimulationConfig
from analytics.simulation.loader import event_payloads, simulation_load_ingest, sqlite_load_pragmas, user_batches
from analytics.simulation.personas import population_rate
from analytics.simulation.truth import (
    AA, BAR, CHECKLIST, TOUR, planted_experiments, truth_build, truth_read, truth_write,
)
from experiments.bucketing import assign
from onboarding.journey import FEATURE_EVENTS

END = datetime(2026, 6, 1, tzinfo=timezone.utc)
SNIPPET_CONTRACT = {
    "$guide_shown": {"guide_id", "guide_version", "guide_type"},
    "$guide_step_viewed": {"guide_id", "step_index", "step_id", "step_count"},
    "$guide_completed": {"guide_id", "guide_type"},
    "$guide_dismissed": {"guide_id", "guide_type"},
    "$cta_clicked": {"guide_id", "guide_type", "label", "action"},
    "$checklist_item_completed": {"guide_id", "item_id"},
    "$survey_submitted": {"guide_id", "kind", "score", "comment"},
    "$guide_render_failed": {"guide_id", "step_index", "selector", "reason"},
}


def _simulation(users: int, seed: int = 1, **options) -> Simulation:
    config = SimulationConfig(users=users, seed=seed, end=END, **options)
    arms = [ExperimentArm(planted=p, experiment_id=index + 1, salt=f"salt-{p.key}", traffic_share=p.traffic_share)
            for index, p in enumerate(config.truth().experiments)]
    return Simulation(config, arms=arms, assign=assign)


def _all(simulation: Simulation) -> list:
    return list(simulation.chunks())


def test_personas__population_rates__match_the_planted_baselines():
    assert population_rate("p_integration") == pytest.approx(0.42)
    assert population_rate("p_adoption") == pytest.approx(0.30)
    assert population_rate("p_widget_customized") == pytest.approx(0.50)


def test_generator__same_seed__same_users_and_events():
    first, second = _all(_simulation(2000, seed=7, chunk_users=800)), _all(_simulation(2000, seed=7, chunk_users=800))
    for a, b in zip(first, second, strict=True):
        assert a.population.user_ids == b.population.user_ids
        assert a.population.user_traits == b.population.user_traits
        for column in ("user", "name", "ts_ms", "props", "id_hi", "id_lo"):
            assert np.array_equal(getattr(a.events, column), getattr(b.events, column))


def test_generator__other_seed__other_events():
    a, b = _all(_simulation(500, seed=1))[0], _all(_simulation(500, seed=2))[0]
    assert len(a.events) != len(b.events) or not np.array_equal(a.events.ts_ms, b.events.ts_ms)


def test_generator__event_ids__uuid7_in_time_order():
    events = _all(_simulation(800))[0].events
    ids = events.ids()
    assert ids == sorted(ids)
    assert np.all(np.diff(events.ts_ms) >= 0)
    assert all(event_id[12] == "7" and event_id[16] in "89ab" for event_id in ids)
    assert len(set(ids)) == len(ids)


def test_generator__assignment__is_the_real_bucketing_of_enrolled_users():
    simulation = _simulation(1500)
    chunk = _all(simulation)[0]
    enrolled = chunk.population.signup_days < simulation.config.enrol_days
    for arm in simulation.arms:
        expected = [
            (assign(arm.salt, f"user:{user_id}", arm.traffic_share, arm.weights) if take_part else None)
            for user_id, take_part in zip(chunk.population.user_ids, enrolled)
        ]
        got = [None if v < 0 else int(v) for v in chunk.variants[arm.planted.key]]
        assert got == expected


def test_generator__sixty_thousand_users__realised_rates_near_the_planted_ones():
    # Given many users (generation only, no database)
    chunks = _all(_simulation(60_000, seed=3, chunk_users=30_000))

    def rate(outcome: str, key: str, variant: int) -> tuple[float, int]:
        hits = total = 0
        for chunk in chunks:
            arm = chunk.variants[key] == variant
            hits += int(getattr(chunk.outcomes, outcome)[arm].sum())
            total += int(arm.sum())
        return hits / total, total

    # Then each planted rate is within four standard errors of what was generated
    planted = {p.key: p for p in planted_experiments()}
    for key, outcome in ((BAR, "integrate"), (CHECKLIST, "adopt"), (TOUR, "widget"), (AA, "integrate")):
        for variant, expected in ((0, planted[key].control_rate), (1, planted[key].treatment_rate)):
            observed, n = rate(outcome, key, variant)
            assert abs(observed - expected) < 4 * math.sqrt(expected * (1 - expected) / n), (key, variant)


def test_generator__srm_bug__loses_only_treatment_exposures():
    chunk = _all(_simulation(6000, srm_exposure_drop=0.25))[0]
    variants, logged = chunk.variants[TOUR], chunk.exposure_logged[TOUR]
    assert logged[variants == 0].all()
    assert 0.70 < logged[variants == 1].mean() < 0.80
    assert chunk.exposure_logged[BAR][chunk.variants[BAR] >= 0].all()  # the bug is the tour experiment's only


def test_generator__feature_breadth__adopters_five_to_seven_others_three_to_four():
    chunk = _all(_simulation(3000))[0]
    features = [EVENT_NAMES.index(name) for name in FEATURE_EVENTS]
    used = [set() for _ in range(len(chunk.population))]
    first = {}
    for user, name, ts in zip(chunk.events.user.tolist(), chunk.events.name.tolist(), chunk.events.ts_ms.tolist()):
        if name in features:
            used[user].add(name)
            first.setdefault((user, name), ts)
    signup_ms = {u: None for u in range(len(used))}
    for user, ts in zip(chunk.events.user.tolist(), chunk.events.ts_ms.tolist()):
        signup_ms[user] = ts if signup_ms[user] is None else min(signup_ms[user], ts)
    end_ms = END.timestamp() * 1000
    for user, names in enumerate(used):
        finished = signup_ms[user] is not None and signup_ms[user] + 13 * 86_400_000 < end_ms
        if chunk.outcomes.adopt[user] and finished:
            assert 5 <= len(names) <= 7
            assert max(first[(user, n)] for n in names) - signup_ms[user] < 13 * 86_400_000  # inside 14 days
        assert chunk.outcomes.adopt[user] or len(names) <= 4


@pytest.mark.parametrize("name", sorted(SNIPPET_CONTRACT), ids=sorted(SNIPPET_CONTRACT))
def test_generator__guide_events__carry_the_snippet_contract_properties(name):
    simulation = _simulation(3000)
    chunk = _all(simulation)[0]
    code = EVENT_NAMES.index(name)
    properties = [simulation.properties.objects[p] for p in chunk.events.props[chunk.events.name == code].tolist()]
    assert properties, f"no {name} generated"
    assert all(set(p) == SNIPPET_CONTRACT[name] for p in properties)


def test_generator__events__all_accepted_by_the_ingest_validation():
    simulation = _simulation(400)
    chunk = _all(simulation)[0]
    raw = event_payloads(simulation, chunk)
    now = END + timedelta(hours=1)
    rejected = []
    for start in range(0, len(raw), 100):
        rejected += validate_batch({"events": raw[start:start + 100]}, now=now, max_age=timedelta(days=120)).rejected
    assert rejected == []
    assert max(event["timestamp"] for event in raw) < END.isoformat()


def test_user_batches__chunk__every_event_once_whole_users_in_time_order():
    # Given a chunk of a few hundred users' events
    chunk = _all(_simulation(400))[0]

    # When it is cut into writer batches of about 1,000 events
    batches = user_batches(chunk, 1000)

    # Then every event is in exactly one batch, no user is split, and each batch keeps time order
    assert sorted(np.concatenate(batches).tolist()) == list(range(len(chunk.events)))
    owners = [set(chunk.events.user[rows].tolist()) for rows in batches]
    assert len(batches) >= len(chunk.events) // 1000 - 1
    assert sum(len(users) for users in owners) == len(set().union(*owners))
    assert all((np.diff(chunk.events.ts_ms[rows]) >= 0).all() for rows in batches)
    assert max(len(rows) for rows in batches) < 1000 + 200  # at most one user's events over the size


def _pragmas() -> dict:
    with connection.cursor() as cursor:
        values = {}
        for name in ("cache_size", "synchronous", "temp_store"):
            cursor.execute(f"PRAGMA {name}")
            values[name] = cursor.fetchone()[0]
        return values


@pytest.mark.django_db(transaction=True)
def test_sqlite_load_pragmas__around_a_load__bulk_settings_inside_previous_ones_after():
    if connection.vendor != "sqlite":  # PostgreSQL: a no-op that must not send SQLite's PRAGMAs
        with connection.cursor() as cursor, sqlite_load_pragmas():
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone()[0] == "on"
        return
    before = _pragmas()
    with sqlite_load_pragmas(cache_mib=64):
        inside = _pragmas()
    assert inside == {"cache_size": -64 * 1024, "synchronous": 1, "temp_store": 2} != before
    assert _pragmas() == before


def test_truth__json__round_trips(tmp_path):
    truth = truth_build(seed=4, users=10, start=END - timedelta(days=84), end=END, signup_days=84, enrol_days=63)
    truth_write(truth, tmp_path / "truth.json", events=99)
    read, extra = truth_read(tmp_path / "truth.json")
    assert read == truth and extra == {"events": 99}
    assert read.experiment(BAR).absolute_lift == pytest.approx(0.15)


def test_load_ingest__small_simulation__derived_state_and_second_load_adds_nothing(db, application):
    # Given a simulation whose guide ids are not this application's (guide events are then ignored)
    simulation = Simulation(SimulationConfig(users=120, seed=5, end=END))

    # When it is loaded twice through the ingest writer
    first = simulation_load_ingest(application_id=application.id, simulation=simulation, now=END)
    again = simulation_load_ingest(application_id=application.id, simulation=Simulation(simulation.config), now=END)

    # Then every event was stored once, with counters and stages derived by the writer
    assert first.new_events == first.events == Event.objects.count() > 120 * 5
    assert again.new_events == 0 and again.events == first.events
    assert EndUser.objects.filter(first_seen_at__isnull=False).count() == 120
    assert StageTransition.objects.filter(to_stage__slug="signup").values("user").distinct().count() == 120
    assert StageTransition.objects.filter(to_stage__slug="activation").exists()
    assert EndUser.objects.filter(traits__persona="non_technical_manager", account__isnull=False).exists()


def _derived_rows(application_id: int) -> dict[str, set]:
    """Every derived row of the application, keyed by what is stable across the two paths."""
    return {
        "daily": set(EndUser.objects.filter(application_id=application_id, daily_counts__isnull=False).values_list(
            "external_id", "daily_counts__name", "daily_counts__day", "daily_counts__count")),
        "transitions": set(StageTransition.objects.filter(application_id=application_id).values_list(
            "user__external_id", "from_stage_id", "to_stage_id", "at")),
        "users": set(EndUser.objects.filter(application_id=application_id).values_list(
            "external_id", "first_seen_at", "last_seen_at", "stage_id", "stage_entered_at")),
        "guide_states": set(GuideState.objects.filter(user__application_id=application_id).values_list(
            "user__external_id", "guide_id", "seen_count", "first_seen_at", "last_seen_at", "last_session_id",
            "dismissed_at", "completed_at", "render_failed_count")),
        "checklist": set(ChecklistItemCompletion.objects.filter(user__application_id=application_id).values_list(
            "user__external_id", "item_id", "completed_at")),
        # stage_slug differs on purpose (see analytics.simulation.derived_sql), so it is left out.
        "surveys": set(SurveyResponse.objects.filter(application_id=application_id).values_list(
            "event_id", "guide_id", "user_id", "kind", "score", "comment", "responded_at")),
    }


@pytest.mark.postgres
def test_derived_sql__rebuild_after_ingest__same_rows_as_the_writer(db, settings, tmp_path):
    from analytics.simulation.derived_sql import derived_state_rebuild
    from wayline.demo import demo_data_setup

    # Given a simulation loaded through the ingest writer, which derived state event by event
    settings.DATA_DIR = tmp_path
    data = demo_data_setup(users=400, seed=8)
    by_writer = _derived_rows(data.application.id)

    # When the set-wise SQL of the COPY path rebuilds the derived tables from the same events
    derived_state_rebuild(application_id=data.application.id)

    # Then every table holds exactly the rows the writer made
    assert all(by_writer.values())
    assert _derived_rows(data.application.id) == by_writer


@pytest.mark.postgres
def test_load_copy__small_simulation__same_users_events_and_results_shape(db, settings, tmp_path):
    from experiments.models import Exposure
    from wayline.demo import demo_data_setup

    settings.DATA_DIR = tmp_path
    data = demo_data_setup(users=300, seed=9, method="copy")
    assert EndUser.objects.filter(application=data.application).count() == 300
    assert Event.objects.filter(application=data.application).count() == data.events
    assert Exposure.objects.filter(experiment__application=data.application).count() > 300
    signed_up = StageTransition.objects.filter(application=data.application, to_stage__slug="signup")
    assert signed_up.values("user").distinct().count() == 300
    with connection.cursor() as cursor:  # sequences moved past the copied ids: the ORM can insert again
        cursor.execute("SELECT nextval(pg_get_serial_sequence('analytics_enduser', 'id'))")
        assert cursor.fetchone()[0] > EndUser.objects.order_by("-id").values_list("id", flat=True).first()


def test_derived_sql__unsupported_stage_rule__refuses(db, application):
    from analytics.simulation.derived_sql import UnsupportedRule, stage_transitions_sql

    application.stages.filter(slug="expansion").update(entry_rule={"trait": "plan", "op": "eq", "value": "pro"})
    with pytest.raises(UnsupportedRule):
        stage_transitions_sql(application.id)
