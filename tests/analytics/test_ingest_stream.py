"""The Redis-buffered ingest path: API → stream → consumer group → database, with crashes and outages."""
import json

import pytest
from django.core.management import call_command
from django.utils import timezone

from analytics.ingest import stream
from analytics.ingest.consumer import GROUP, StreamConsumer
from analytics.ingest.service import events_ingest
from analytics.ingest.validation import validate_batch
from analytics.models import EndUser, Event, GuideState, UserEventDaily
from analytics.tasks import drain_event_stream
from tests.factories import make_event_payload, make_events_batch, make_live_guide, publishable_key_headers


class Crash(Exception):
    """Stands for the process dying between commit and acknowledgement."""


def post_events(client, application, events):
    return client.post("/api/v1/events", json.dumps({"events": events}), content_type="application/json",
                       **publishable_key_headers(application))


def pending_count(client, stream_name) -> int:
    return client.xpending(stream_name, GROUP)["pending"]


@pytest.mark.redis
def test_stream__api_with_redis__202_buffered_then_consumer_stores(client, application, event_stream, settings):
    batch = make_events_batch(20)
    response = post_events(client, application, batch)
    assert response.status_code == 202
    assert response.json() == {"accepted": 20, "duplicates": 0, "rejected": []}
    assert Event.objects.count() == 0  # only buffered so far
    stats = StreamConsumer(name="c1").drain(until_empty=True)
    assert (stats.entries, stats.events, stats.new) == (1, 20, 20)
    assert {str(i) for i in Event.objects.values_list("id", flat=True)} == {e["id"] for e in batch}
    assert event_stream.xlen(settings.WAYLINE_EVENT_STREAM) == 0  # acknowledged and deleted
    assert pending_count(event_stream, settings.WAYLINE_EVENT_STREAM) == 0


@pytest.mark.redis
def test_stream__same_batch_buffered_twice__stored_once_and_counters_once(client, application, event_stream):
    batch = make_events_batch(5, name="report_viewed")
    post_events(client, application, batch)
    post_events(client, application, batch)
    stats = StreamConsumer(name="c1").drain(until_empty=True)
    assert (stats.events, stats.new) == (10, 5)
    assert Event.objects.count() == 5
    assert sum(UserEventDaily.objects.values_list("count", flat=True)) == 5


@pytest.mark.redis
def test_stream__consumer_dies_after_commit_before_ack__reclaimed_no_duplicates_no_loss(
    client, application, event_stream, settings
):
    batches = [make_events_batch(20, user_id=f"user-{i}") for i in range(3)]
    for batch in batches:
        post_events(client, application, batch)

    # Given a consumer that writes and commits, then dies before XACK
    def die(entry_ids):
        raise Crash

    with pytest.raises(Crash):
        StreamConsumer(name="doomed", before_ack=die, count=2).round()
    assert Event.objects.count() == 40  # two entries committed
    assert pending_count(event_stream, settings.WAYLINE_EVENT_STREAM) == 2  # but never acknowledged

    # When another consumer reclaims what was left pending (min idle 0: no waiting in a test)
    stats = StreamConsumer(name="rescuer", claim_min_idle_ms=0).drain(until_empty=True)

    # Then every event is stored exactly once and nothing is left in the stream
    assert stats.entries == 3
    assert stats.new == 20  # only the third entry held new events
    unique_ids = {event["id"] for batch in batches for event in batch}
    assert {str(i) for i in Event.objects.values_list("id", flat=True)} == unique_ids
    assert sum(UserEventDaily.objects.values_list("count", flat=True)) == 60
    assert pending_count(event_stream, settings.WAYLINE_EVENT_STREAM) == 0
    assert event_stream.xlen(settings.WAYLINE_EVENT_STREAM) == 0


@pytest.mark.redis
def test_stream__pending_entry_not_idle_long_enough__not_reclaimed(client, application, event_stream, settings):
    post_events(client, application, make_events_batch(2))
    with pytest.raises(Crash):
        StreamConsumer(name="doomed", before_ack=lambda ids: (_ for _ in ()).throw(Crash)).round()
    stats = StreamConsumer(name="other", claim_min_idle_ms=60_000).drain(until_empty=True)
    assert stats.entries == 0
    assert pending_count(event_stream, settings.WAYLINE_EVENT_STREAM) == 1


@pytest.mark.redis
def test_stream__consumer_killed_mid_batch_restarted_same_name__its_entries_written_without_claim_wait(
    client, application, event_stream, settings
):
    batch = make_events_batch(10)
    post_events(client, application, batch)
    # Given consumer c1 read the entry and was killed before writing it
    StreamConsumer(name="c1").ensure_group()
    event_stream.xreadgroup(GROUP, "c1", {settings.WAYLINE_EVENT_STREAM: ">"}, count=10)

    # When its supervisor starts it again under the same name (reclaiming would wait a minute)
    stats = StreamConsumer(name="c1", claim_min_idle_ms=60_000).drain(until_empty=True)

    # Then it writes its own unacknowledged entry first
    assert (stats.entries, stats.new) == (1, 10)
    assert {str(i) for i in Event.objects.values_list("id", flat=True)} == {e["id"] for e in batch}
    assert pending_count(event_stream, settings.WAYLINE_EVENT_STREAM) == 0


@pytest.mark.redis
def test_stream__round_failed_before_ack__same_consumer_takes_its_entries_up_next_round(
    client, application, event_stream, settings
):
    post_events(client, application, make_events_batch(5))
    failures = iter([Crash()])

    def fail_once(entry_ids):
        for failure in failures:
            raise failure

    # Given a round that committed and then failed to acknowledge (Redis went away)
    consumer = StreamConsumer(name="c1", claim_min_idle_ms=60_000, before_ack=fail_once)
    with pytest.raises(Crash):
        consumer.drain(until_empty=True)

    # When the same consumer goes on
    stats = consumer.drain(until_empty=True)

    # Then it acknowledges its own entry at once, storing nothing twice
    assert (stats.entries, stats.new) == (1, 0)
    assert Event.objects.count() == 5
    assert sum(UserEventDaily.objects.values_list("count", flat=True)) == 5
    assert pending_count(event_stream, settings.WAYLINE_EVENT_STREAM) == 0


@pytest.mark.redis
def test_stream__entry_for_deleted_application__dead_lettered_others_stored(client, application, event_stream, settings):
    good = make_events_batch(3)
    post_events(client, application, good)
    orphan = validate_batch({"events": make_events_batch(2)}, now=timezone.now())
    stream.events_append(application_id=999_999, events=orphan.events, received_at=timezone.now())
    stats = StreamConsumer(name="c1").drain(until_empty=True)
    assert stats.dead == 1
    assert Event.objects.count() == 3
    dead = event_stream.xrange(f"{settings.WAYLINE_EVENT_STREAM}:dead")
    assert len(dead) == 1 and dead[0][1][b"app"] == b"999999"
    assert pending_count(event_stream, settings.WAYLINE_EVENT_STREAM) == 0


@pytest.mark.redis
def test_stream__consume_events_command_once__drains(client, application, event_stream):
    post_events(client, application, make_events_batch(4))
    call_command("consume_events", "--once", "--name", "cmd")
    assert Event.objects.count() == 4


@pytest.mark.redis
def test_stream__drain_task__drains_and_returns_new_count(client, application, event_stream):
    post_events(client, application, make_events_batch(4))
    assert drain_event_stream.delay().get() == 4
    assert Event.objects.count() == 4


@pytest.mark.redis
def test_stream__entry_round_trip__event_fields_preserved(application, event_stream, settings):
    event = make_event_payload("$guide_shown", properties={"guide_id": 7, "nested": {"é": [1, 2.5, None]}})
    batch = validate_batch({"events": [event]}, now=timezone.now())
    received = timezone.now()
    assert stream.events_append(application_id=application.id, events=batch.events, received_at=received)
    [(_, fields)] = event_stream.xrange(settings.WAYLINE_EVENT_STREAM)
    application_id, [decoded] = stream.entry_to_events(fields)
    original = batch.events[0]
    assert application_id == application.id
    assert decoded["received_at"] == received
    assert {k: decoded[k] for k in original} == original


def test_stream__redis_unreachable__direct_write_stores_everything(client, application, settings):
    # Given a buffer URL pointing at a closed port
    settings.WAYLINE_EVENT_BUFFER_URL = "redis://127.0.0.1:1/0"
    batch = make_events_batch(20)
    # When the snippet posts a batch
    response = post_events(client, application, batch)
    # Then it is written directly, with exact counts, and the breaker skips Redis for a while
    assert response.status_code == 202
    assert response.json() == {"accepted": 20, "duplicates": 0, "rejected": []}
    assert Event.objects.count() == 20
    assert not stream.breaker.allows()
    assert post_events(client, application, batch).json()["duplicates"] == 20


def test_stream__breaker__closes_after_cooldown():
    now = {"t": 100.0}
    breaker = stream.CircuitBreaker(cooldown=5, timer=lambda: now["t"])
    breaker.trip()
    assert not breaker.allows()
    now["t"] = 105.0
    assert breaker.allows()


def test_events_ingest__no_buffer_configured__direct(application):
    batch = validate_batch({"events": make_events_batch(3)}, now=timezone.now())
    result = events_ingest(application_id=application.id, events=batch.events, received_at=timezone.now())
    assert (result.accepted, result.duplicates, result.buffered) == (3, 0, False)
    assert EndUser.objects.get(external_id="user-1").events.count() == 3


@pytest.mark.redis
def test_stream__malformed_entry__dead_lettered_rest_of_round_stored(client, application, event_stream, settings):
    post_events(client, application, make_events_batch(3))
    event_stream.xadd(settings.WAYLINE_EVENT_STREAM, {"app": str(application.id), "at": "x", "events": "[not json"})
    post_events(client, application, make_events_batch(2, user_id="user-2"))
    stats = StreamConsumer(name="c1").drain(until_empty=True)
    assert (stats.entries, stats.dead, stats.new) == (3, 1, 5)
    assert Event.objects.count() == 5
    assert event_stream.xlen(f"{settings.WAYLINE_EVENT_STREAM}:dead") == 1
    assert pending_count(event_stream, settings.WAYLINE_EVENT_STREAM) == 0


@pytest.mark.redis
def test_stream__guide_dismissed_in_batch__state_written_before_answer_rest_buffered(client, application, event_stream):
    # Given a live tour and a batch with a page view and the tour's dismissal
    tour = make_live_guide(application)
    page_view = make_event_payload("$pageview")
    dismissed = make_event_payload("$guide_dismissed", properties={"guide_id": tour.id, "guide_type": "tour"})
    # When the snippet sends it while a buffer is in use
    response = post_events(client, application, [page_view, dismissed])
    # Then the dismissal is stored and applied before the answer, so the next page no longer offers the tour
    assert response.status_code == 202
    assert response.json()["accepted"] == 2
    assert list(Event.objects.values_list("name", flat=True)) == ["$guide_dismissed"]
    assert GuideState.objects.get(guide=tour, user__external_id="user-1").dismissed_at is not None
    content = client.get("/api/v1/content", {"user_id": "user-1", "url": "https://app.acme.test/"},
                         **publishable_key_headers(application))
    assert [guide["id"] for guide in content.json()["guides"]] == []
    # And the rest waits in the buffer; draining it stores each event once, the dismissal included once
    post_events(client, application, [page_view, dismissed])  # the snippet resending the same batch
    StreamConsumer(name="c1").drain(until_empty=True)
    assert sorted(Event.objects.values_list("name", flat=True)) == ["$guide_dismissed", "$pageview"]


@pytest.mark.redis
def test_stream__guide_completed_and_database_refuses__buffered_with_the_rest(
    client, application, event_stream, monkeypatch
):
    # Given a database that refuses the immediate write of guide-closing events
    from django.db import OperationalError

    from analytics.ingest import service

    def refuse(**kwargs):
        raise OperationalError("the database is restarting")

    monkeypatch.setattr(service, "events_write", refuse)
    tour = make_live_guide(application)
    batch = [make_event_payload("$pageview"),
             make_event_payload("$guide_completed", properties={"guide_id": tour.id, "guide_type": "tour"})]
    # When the batch arrives
    response = post_events(client, application, batch)
    monkeypatch.undo()
    # Then nothing is lost: all of it is buffered and the consumer stores it
    assert response.status_code == 202
    assert response.json()["accepted"] == 2
    assert Event.objects.count() == 0
    StreamConsumer(name="c1").drain(until_empty=True)
    assert sorted(Event.objects.values_list("name", flat=True)) == ["$guide_completed", "$pageview"]
    assert GuideState.objects.get(guide=tour).completed_at is not None
