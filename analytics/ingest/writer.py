"""Store validated events idempotently and update the state derived from the new ones.

``events_write`` runs in one transaction: resolve users, insert the events — each client id
stored once — then update derived state from exactly the events that were new, so writing the
same events again changes nothing. Callers that acknowledge a buffer (the stream consumer) do so
after this transaction commits.

PostgreSQL: the rows are ``COPY``-ed into a temporary staging table and moved with
``INSERT … SELECT … ON CONFLICT (id) DO NOTHING RETURNING id``, which says exactly which ids
were new. SQLite (the embedded default): the ids that already exist are selected first inside the
transaction and the rest inserted with one ``executemany`` (``ON CONFLICT (id) DO NOTHING``);
SQLite admits one writer at a time, so nothing slips in between.
"""
from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, OperationalError, connection, transaction

from analytics.ingest.bulk_sql import insert_rows
from analytics.ingest.derived import derived_state_update
from analytics.ingest.users import event_users_resolve
from analytics.models import Event

logger = logging.getLogger("analytics")

COLUMNS = (
    "id", "application_id", "user_id", "name", "timestamp", "received_at", "timestamp_clamped",
    "properties", "url", "session_id",
)
STAGING = "wayline_event_staging"
ATTEMPTS = 3
RETRYABLE_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure


@dataclass(frozen=True)
class WriteResult:
    new: int
    duplicates: int


def events_write(*, application_id: int, events: list[dict], received_at: datetime) -> WriteResult:
    """Store ``events`` (validated dicts) for one application; derived state follows in the same transaction.

    Each dict may carry its own ``received_at`` (events that waited in the buffer); otherwise
    ``received_at`` applies.
    """
    unique: dict[str, dict] = {}
    for event in events:
        unique.setdefault(event["id"], event)
    batch = sorted(unique.values(), key=lambda event: event["id"])  # one lock order for every writer
    if not batch:
        return WriteResult(new=0, duplicates=len(events))
    for attempt in range(ATTEMPTS):
        try:
            new_events = _write(application_id, batch, received_at)
            break
        except (IntegrityError, OperationalError) as error:
            # IntegrityError: an anonymous user was merged into an identified one (and deleted) while
            # this batch was being resolved; resolving again finds the alias pointing at the survivor.
            # A deadlock with a concurrent merge: PostgreSQL aborted us, so try again.
            # Inside an outer transaction the failed savepoint was rolled back, so retrying is safe there too.
            retryable = isinstance(error, IntegrityError) or _sqlstate(error) in RETRYABLE_SQLSTATES
            if not retryable or attempt == ATTEMPTS - 1:
                raise
            logger.info("events.write_retried", extra={"application_id": application_id, "attempt": attempt + 1})
    result = WriteResult(new=len(new_events), duplicates=len(events) - len(new_events))
    logger.debug(
        "events.written", extra={"application_id": application_id, "new": result.new, "duplicates": result.duplicates}
    )
    return result


def _sqlstate(error: Exception) -> str | None:
    return getattr(error.__cause__, "sqlstate", None)


def _write(application_id: int, batch: list[dict], received_at: datetime) -> list[dict]:
    with transaction.atomic():
        event_users_resolve(application_id=application_id, events=batch)
        if connection.vendor == "postgresql":
            new_ids = _insert_copy(application_id, batch, received_at)
        else:
            new_ids = _insert_bulk(application_id, batch, received_at)
        new_events = [event for event in batch if event["id"] in new_ids]
        derived_state_update(application_id=application_id, events=new_events)
    return new_events


def _insert_copy(application_id: int, batch: list[dict], received_at: datetime) -> set[str]:
    columns = ", ".join(COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGING} "
            "(LIKE analytics_event INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
        )
        raw = cursor.cursor  # the psycopg cursor: Django's wrapper has no COPY
        with raw.copy(f"COPY {STAGING} ({columns}) FROM STDIN") as copy:
            for event in batch:
                copy.write_row((
                    event["id"], application_id, event["user_pk"], event["name"], event["timestamp"],
                    event.get("received_at") or received_at, event["timestamp_clamped"], event["properties_json"],
                    event["url"], event["session_id"],
                ))
        cursor.execute(
            f"INSERT INTO analytics_event ({columns}) SELECT {columns} FROM {STAGING} ORDER BY id "
            "ON CONFLICT (id) DO NOTHING RETURNING id"
        )
        new_ids = {str(row[0]) for row in cursor.fetchall()}
        # Several applications may be written in one transaction: leave the staging table empty.
        cursor.execute(f"DELETE FROM {STAGING}")
    return new_ids


def _insert_bulk(application_id: int, batch: list[dict], received_at: datetime) -> set[str]:
    ids = [uuid.UUID(event["id"]) for event in batch]
    existing = {str(value) for value in Event.objects.filter(id__in=ids).values_list("id", flat=True)}
    # Rows as the database stores them, in one executemany: ``bulk_create`` spends most of its time
    # preparing each field of each model instance, several times what SQLite takes to insert them.
    adapt = connection.ops.adapt_datetimefield_value
    rows = [
        (uid.hex, application_id, event["user_pk"], event["name"], adapt(event["timestamp"]),
         adapt(event.get("received_at") or received_at), event["timestamp_clamped"], event["properties_json"],
         event["url"], event["session_id"])
        for uid, event in zip(ids, batch)
        if event["id"] not in existing
    ]
    insert_rows(table="analytics_event", columns=COLUMNS, types=(), rows=rows,
                on_conflict="ON CONFLICT (id) DO NOTHING")
    return {event["id"] for event in batch if event["id"] not in existing}
