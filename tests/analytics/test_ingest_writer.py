"""events_write: each id stored once, exact new/duplicate counts, race-safe users, on SQLite and PostgreSQL."""
import threading

import pytest
from django.db import connection
from django.utils import timezone

from analytics.ingest.users import anonymous_users_resolve, identified_users_resolve
from analytics.ingest.validation import validate_batch
from analytics.ingest.writer import events_write
from analytics.models import EndUser, Event, UserAlias, UserEventDaily
from tests.factories import make_application, make_event_payload, make_events_batch


def validated(events):
    return validate_batch({"events": events}, now=timezone.now()).events


def test_events_write__partly_stored_batch__exact_new_and_duplicates(application):
    batch = make_events_batch(10)
    events_write(application_id=application.id, events=validated(batch[:4]), received_at=timezone.now())
    result = events_write(application_id=application.id, events=validated(batch), received_at=timezone.now())
    assert (result.new, result.duplicates) == (6, 4)
    assert Event.objects.count() == 10


def test_events_write__fields__stored_as_sent(application):
    sent = make_event_payload("plan_upgraded", url="https://app.acme.test/billing", session_id="s-9",
                              properties={"plan": "pro", "seats": 5, "tags": ["a", None]})
    received = timezone.now()
    events_write(application_id=application.id, events=validated([sent]), received_at=received)
    event = Event.objects.get()
    assert (str(event.id), event.name, event.url, event.session_id) == (
        sent["id"], "plan_upgraded", "https://app.acme.test/billing", "s-9")
    assert event.properties == {"plan": "pro", "seats": 5, "tags": ["a", None]}
    assert event.received_at == received and event.timestamp_clamped is False
    assert event.user.external_id == "user-1" and event.application_id == application.id


def test_events_write__event_id_taken_by_another_application__not_stored_twice(application):
    other = make_application("Other")
    event = make_event_payload()
    events_write(application_id=other.id, events=validated([event]), received_at=timezone.now())
    result = events_write(application_id=application.id, events=validated([event]), received_at=timezone.now())
    assert result.new == 0
    assert Event.objects.get().application_id == other.id


def test_users_resolve__existing_and_new__one_row_each(application):
    first = identified_users_resolve(application_id=application.id, external_ids=["a", "b"])
    second = identified_users_resolve(application_id=application.id, external_ids=["b", "c", "a"])
    assert second["a"] == first["a"] and second["b"] == first["b"]
    assert EndUser.objects.count() == 3
    anonymous = anonymous_users_resolve(application_id=application.id, anonymous_ids=["x", "x", "y"])
    assert anonymous == anonymous_users_resolve(application_id=application.id, anonymous_ids=["y", "x"])
    assert UserAlias.objects.count() == 2 and EndUser.objects.count() == 5


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_events_write__concurrent_overlapping_batches__each_id_once_one_user_per_id():
    # Given two writers that receive overlapping batches for the same new users at the same moment
    application = make_application()
    shared = [make_event_payload("report_viewed", user_id=None, anonymous_id="anon-shared") for _ in range(30)]
    shared += [make_event_payload("report_viewed", user_id="u-shared") for _ in range(30)]
    batches = [shared + make_events_batch(20, user_id=f"own-{i}") for i in range(2)]
    barrier = threading.Barrier(2)
    results, errors = [], []

    def writer(batch):
        try:
            events = validated(batch)
            barrier.wait()
            results.append(events_write(application_id=application.id, events=events, received_at=timezone.now()))
        except Exception as error:  # reported below; a thread cannot fail the test itself
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(batch,)) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then nothing failed, every id is stored once, and each new id has exactly one user
    assert errors == []
    assert sum(result.new for result in results) == 100 == Event.objects.count()
    assert sum(result.duplicates for result in results) == 60
    assert EndUser.objects.filter(external_id="u-shared").count() == 1
    assert UserAlias.objects.filter(anonymous_id="anon-shared").count() == 1
    assert EndUser.objects.count() == 4  # u-shared, anon-shared, own-0, own-1
    assert sum(UserEventDaily.objects.values_list("count", flat=True)) == 100


@pytest.mark.postgres
def test_events_write__postgres__copy_path_leaves_staging_empty(application):
    events_write(application_id=application.id, events=validated(make_events_batch(5)), received_at=timezone.now())
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM wayline_event_staging")
        assert cursor.fetchone()[0] == 0
    assert Event.objects.count() == 5


def test_events_write__empty__nothing(application):
    result = events_write(application_id=application.id, events=[], received_at=timezone.now())
    assert (result.new, result.duplicates) == (0, 0)
    assert not Event.objects.exists()
