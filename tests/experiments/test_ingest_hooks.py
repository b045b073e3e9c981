"""Hooks analytics calls: client-reported ``$exposure`` events, and exposures following user merges."""
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from experiments.assignment import unit_id_for, variant_for
from experiments.ingest_hooks import exposures_from_events
from experiments.models import Experiment, Exposure
from experiments.selectors import experiment_plans_load
from tests.factories import make_event_payload, make_experiment, make_exposure, make_known_user, publishable_key_headers
from tests.ingest_fixtures import _api_clean_slate  # noqa: F401  (autouse fixture)


@pytest.fixture
def experiment(application):
    return make_experiment(application, start=True)


def hashed_variant(experiment, user) -> str:
    plan = next(p for p in experiment_plans_load(application_id=experiment.application_id) if p.id == experiment.id)
    return variant_for(plan, unit_id_for(plan, user)).key


def exposure_event(experiment, user, variant, at):
    return {"id": "e-1", "name": "$exposure", "user_id": user.pk, "timestamp": at,
            "properties": {"experiment_id": experiment.id, "variant": variant}, "url": "", "session_id": ""}


def test_exposures_from_events__hashed_variant__recorded_at_event_time(application, experiment):
    user = make_known_user(application, "u-1")
    at = timezone.now() - timedelta(minutes=5)
    key = hashed_variant(experiment, user)
    assert exposures_from_events(application_id=application.id, events=[exposure_event(experiment, user, key, at)]) == 1
    exposure = Exposure.objects.get(user=user)
    assert (exposure.variant.key, exposure.exposed_at, exposure.unit_id) == (key, at, f"user:{user.pk}")


def test_exposures_from_events__client_claims_other_variant__ignored(application, experiment):
    user = make_known_user(application, "u-1")
    other = {"control": "treatment", "treatment": "control"}[hashed_variant(experiment, user)]
    event = exposure_event(experiment, user, other, timezone.now())
    assert exposures_from_events(application_id=application.id, events=[event]) == 0
    assert not Exposure.objects.exists()


def test_exposures_from_events__stopped_or_foreign_experiment__ignored(application, experiment):
    user = make_known_user(application, "u-1")
    key = hashed_variant(experiment, user)
    Experiment.objects.filter(pk=experiment.pk).update(status=Experiment.Status.STOPPED)
    events = [exposure_event(experiment, user, key, timezone.now())]
    assert exposures_from_events(application_id=application.id, events=events) == 0
    assert exposures_from_events(application_id=application.id + 1, events=events) == 0
    assert not Exposure.objects.exists()


def test_exposures_from_events__already_exposed__first_exposure_kept(application, experiment):
    user = make_known_user(application, "u-1")
    key = hashed_variant(experiment, user)
    first = timezone.now() - timedelta(days=2)
    make_exposure(experiment, experiment.variants.get(key=key), user, first)
    events = [exposure_event(experiment, user, key, timezone.now())]
    assert exposures_from_events(application_id=application.id, events=events) == 0
    assert Exposure.objects.get(user=user).exposed_at == first


def test_events_api__exposure_event__recorded_through_ingest_hook(client, application, experiment):
    user = make_known_user(application, "u-api")
    key = hashed_variant(experiment, user)
    event = make_event_payload("$exposure", user_id="u-api", properties={"experiment_id": experiment.id, "variant": key})
    response = client.post("/api/v1/events", json.dumps({"events": [event]}), content_type="application/json",
                           **publishable_key_headers(application))
    assert response.status_code == 202, response.content
    assert Exposure.objects.get(experiment=experiment, user=user).variant.key == key
