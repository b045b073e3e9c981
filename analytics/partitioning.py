"""Monthly partitioning of the events table on PostgreSQL (``WAYLINE_PARTITION_EVENTS=1``).

``events_partition`` turns ``analytics_event`` into a table partitioned by range of
``timestamp``, one partition per calendar month (UTC) plus a default partition for anything
outside them, keeping every column, index and foreign key. Old months can then be detached or
dropped in one statement, and time-range scans touch only the months they need.

The price is uniqueness. PostgreSQL requires every unique index of a partitioned table to
contain the partition key, so the primary key becomes ``(id, timestamp)``: the same event id sent
twice with two different timestamps would no longer be rejected, and ``INSERT … ON CONFLICT (id)``
has no index to arbitrate on. Idempotency by id therefore moves to a small side table,
``analytics_event_id (id PRIMARY KEY)``: a writer first claims the ids of a batch there
(``event_ids_claim``: ``INSERT … ON CONFLICT DO NOTHING RETURNING id``) and inserts only the
events whose ids it claimed, in the same transaction — so an id is stored once whatever its
timestamp, at the cost of one more index insert per event.

``event_partitions_ensure`` creates the coming months ahead of time (run it monthly, e.g. from
Celery beat); events that arrive for a month without a partition land in the default partition.
"""
from __future__ import annotations

import logging
from datetime import date, datetime, timezone

from django.conf import settings
from django.db import connection, transaction

logger = logging.getLogger("analytics")

EVENTS = "analytics_event"
EVENT_IDS = "analytics_event_id"
MONTHS_AHEAD = 3


def events_partitioned(table: str = EVENTS) -> bool:
    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
            "WHERE c.relname = %s)", [table],
        )
        return bool(cursor.fetchone()[0])


def _months(first: date, last: date) -> list[date]:
    months, current = [], date(first.year, first.month, 1)
    while current <= last:
        months.append(current)
        current = date(current.year + current.month // 12, current.month % 12 + 1, 1)
    return months


def _next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def _partition_sql(table: str, month: date) -> str:
    return (
        f'CREATE TABLE IF NOT EXISTS "{table}_y{month:%Y}m{month:%m}" PARTITION OF "{table}" '
        f"FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+00') TO ('{_next_month(month):%Y-%m-%d} 00:00:00+00')"
    )


def _source_indexes(cursor) -> list[tuple[str, str]]:
    cursor.execute(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
        "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = %s AND NOT x.indisprimary ORDER BY i.relname",
        [EVENTS],
    )
    return cursor.fetchall()


def _create_partitioned(cursor, *, table: str, like: str, first: date, last: date) -> None:
    """The partitioned table ``table`` shaped like ``like``, with its monthly and default partitions."""
    cursor.execute(f'CREATE TABLE "{table}" (LIKE "{like}" INCLUDING DEFAULTS) PARTITION BY RANGE ("timestamp")')
    cursor.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY (id, "timestamp")')
    for month in _months(first, last):
        cursor.execute(_partition_sql(table, month))
    cursor.execute(f'CREATE TABLE IF NOT EXISTS "{table}_default" PARTITION OF "{table}" DEFAULT')


def _finish_partitioned(cursor, *, table: str, indexes: list[tuple[str, str]], index_name) -> None:
    """Indexes and foreign keys, added once the rows are in: one build and one set-wise check each,
    instead of index inserts and deferred foreign-key checks row by row."""
    for name, definition in indexes:
        body = definition.split(" USING ", 1)[1]
        cursor.execute(f'CREATE INDEX "{index_name(name)}" ON "{table}" USING {body}')
    for column, target in (("application_id", "onboarding_application"), ("user_id", "analytics_enduser")):
        cursor.execute(
            f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_{column}_fk" FOREIGN KEY ({column}) '
            f'REFERENCES "{target}" (id) DEFERRABLE INITIALLY DEFERRED'
        )


def _range(cursor, *, months_ahead: int) -> tuple[date, date]:
    cursor.execute(f'SELECT MIN("timestamp"), MAX("timestamp") FROM "{EVENTS}"')
    low, high = cursor.fetchone()
    today = datetime.now(timezone.utc).date()
    first = (low.date() if low else today)
    last = max(high.date() if high else today, today)
    for _ in range(months_ahead):
        last = _next_month(date(last.year, last.month, 1))
    return first, last


def partitioned_twin_create(*, name: str, months_ahead: int = MONTHS_AHEAD) -> int:
    """A partitioned copy of ``analytics_event`` called ``name`` (replaced if it exists), for benchmarks."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f'DROP TABLE IF EXISTS "{name}" CASCADE')
        first, last = _range(cursor, months_ahead=months_ahead)
        _create_partitioned(cursor, table=name, like=EVENTS, first=first, last=last)
        cursor.execute(f'INSERT INTO "{name}" SELECT * FROM "{EVENTS}"')
        copied = cursor.rowcount
        _finish_partitioned(cursor, table=name, indexes=_source_indexes(cursor),
                            index_name=lambda index: f"{name}_{index}"[:63])
    with connection.cursor() as cursor:
        cursor.execute(f'ANALYZE "{name}"')
    return copied


@transaction.atomic
def events_partition(*, months_ahead: int = MONTHS_AHEAD, keep_old: bool = False) -> int:
    """Convert ``analytics_event`` in place (one transaction, the table locked meanwhile); returns rows moved."""
    if connection.vendor != "postgresql":
        raise RuntimeError("partitioning needs PostgreSQL")
    if not getattr(settings, "WAYLINE_PARTITION_EVENTS", False):
        raise RuntimeError("set WAYLINE_PARTITION_EVENTS=1 to partition the events table")
    if events_partitioned():
        return 0
    old = f"{EVENTS}_unpartitioned"
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # deferred FK checks must not wait on the old table
        cursor.execute(f'LOCK TABLE "{EVENTS}" IN ACCESS EXCLUSIVE MODE')
        indexes = _source_indexes(cursor)
        first, last = _range(cursor, months_ahead=months_ahead)
        cursor.execute(f'ALTER TABLE "{EVENTS}" RENAME TO "{old}"')
        cursor.execute(f'ALTER INDEX "{EVENTS}_pkey" RENAME TO "{old}_pkey"')
        for name, _definition in indexes:
            cursor.execute(f'ALTER INDEX "{name}" RENAME TO "{(name + "_old")[:63]}"')
        _create_partitioned(cursor, table=EVENTS, like=old, first=first, last=last)
        cursor.execute(f'INSERT INTO "{EVENTS}" SELECT * FROM "{old}"')
        moved = cursor.rowcount
        _finish_partitioned(cursor, table=EVENTS, indexes=indexes, index_name=lambda index: index)
        cursor.execute(f'CREATE TABLE IF NOT EXISTS "{EVENT_IDS}" (id uuid PRIMARY KEY)')
        cursor.execute(f'INSERT INTO "{EVENT_IDS}" SELECT id FROM "{old}" ON CONFLICT DO NOTHING')
        if not keep_old:
            cursor.execute(f'DROP TABLE "{old}"')
    logger.info("events.partitioned", extra={"rows": moved, "first_month": str(first), "last_month": str(last)})
    return moved


def event_partitions_ensure(*, months_ahead: int = MONTHS_AHEAD, today: date | None = None) -> list[str]:
    """Create the partitions of this month and the next ``months_ahead`` ones; returns the new ones."""
    if not events_partitioned():
        return []
    today = today or datetime.now(timezone.utc).date()
    last = date(today.year, today.month, 1)
    for _ in range(months_ahead):
        last = _next_month(last)
    created = []
    with connection.cursor() as cursor:
        for month in _months(today, last):
            name = f"{EVENTS}_y{month:%Y}m{month:%m}"
            cursor.execute("SELECT to_regclass(%s) IS NULL", [name])
            if cursor.fetchone()[0]:
                cursor.execute(_partition_sql(EVENTS, month))
                created.append(name)
    return created


def event_ids_claim(cursor, *, source: str) -> set[str]:
    """Claim the ids of the events in table ``source`` (e.g. a COPY staging table); returns the new ones.

    On a partitioned events table this replaces ``ON CONFLICT (id)``: only events whose ids are
    returned here may be inserted, in the same transaction.
    """
    cursor.execute(f'INSERT INTO "{EVENT_IDS}" (id) SELECT id FROM "{source}" ORDER BY id ON CONFLICT DO NOTHING '
                   "RETURNING id")
    return {str(row[0]) for row in cursor.fetchall()}
