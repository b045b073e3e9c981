"""Monthly partitioning of the events table (PostgreSQL only)."""
from datetime import date, datetime, timezone

import pytest
from django.db import connection

from analytics.models import Event
from analytics.partitioning import (
    EVENT_IDS, event_ids_claim, event_partitions_ensure, events_partition, events_partitioned,
    partitioned_twin_create,
)
from tests.factories import make_event, make_known_user

pytestmark = pytest.mark.postgres

MONTHS = [datetime(2026, 1, 15, tzinfo=timezone.utc), datetime(2026, 2, 3, tzinfo=timezone.utc),
          datetime(2026, 3, 30, tzinfo=timezone.utc)]


def _partitions(table: str = "analytics_event") -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                       "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = %s", [table])
        return {row[0] for row in cursor.fetchall()}


def test_events_partition__setting_off__refuses(db, settings):
    settings.WAYLINE_PARTITION_EVENTS = False
    with pytest.raises(RuntimeError, match="WAYLINE_PARTITION_EVENTS"):
        events_partition()
    assert not events_partitioned()


def test_events_partition__events_of_three_months__moved_into_monthly_partitions(db, settings, application):
    # Given events in three months
    settings.WAYLINE_PARTITION_EVENTS = True
    user = make_known_user(application)
    events = [make_event(user, "report_viewed", at) for at in MONTHS]

    # When the table is partitioned
    moved = events_partition(months_ahead=1)

    # Then every event is still there, each month has its partition, and ids are claimed once
    assert moved == 3 and events_partitioned()
    assert set(Event.objects.values_list("id", flat=True)) == {event.id for event in events}
    assert {"analytics_event_y2026m01", "analytics_event_y2026m02", "analytics_event_y2026m03",
            "analytics_event_default"} <= _partitions()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {EVENT_IDS}")
        assert cursor.fetchone()[0] == 3


def test_event_ids_claim__ids_seen_before__only_new_ones_returned(db, settings, application):
    settings.WAYLINE_PARTITION_EVENTS = True
    user = make_known_user(application)
    known = make_event(user, "report_viewed", MONTHS[0])
    events_partition(months_ahead=1)
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE staging (id uuid)")
        cursor.execute("INSERT INTO staging VALUES (%s), ('00000000-0000-7000-8000-000000000001')", [known.id])
        claimed = event_ids_claim(cursor, source="staging")
    assert claimed == {"00000000-0000-7000-8000-000000000001"}


def test_event_partitions_ensure__next_months_missing__created(db, settings, application):
    settings.WAYLINE_PARTITION_EVENTS = True
    make_event(make_known_user(application), "report_viewed", MONTHS[0])
    events_partition(months_ahead=0)
    later = date(2030, 1, 10)  # past every partition made at conversion time (they reach this month)
    created = event_partitions_ensure(months_ahead=2, today=later)
    assert created == ["analytics_event_y2030m01", "analytics_event_y2030m02", "analytics_event_y2030m03"]
    assert event_partitions_ensure(months_ahead=2, today=later) == []


def test_partitioned_twin_create__copy__same_rows_and_plain_table_untouched(db, application):
    user = make_known_user(application)
    for at in MONTHS:
        make_event(user, "report_viewed", at)
    assert partitioned_twin_create(name="events_twin", months_ahead=0) == 3
    assert not events_partitioned() and events_partitioned("events_twin")
    assert {"events_twin_y2026m01", "events_twin_y2026m03", "events_twin_default"} <= _partitions("events_twin")
