"""Set-at-a-time SQL for the ingest path: one statement per batch on PostgreSQL, portable elsewhere.

A consumer round touches thousands of users. ``IN (%s, %s, …)`` with thousands of parameters and
``executemany`` with thousands of rows spend most of their time in the driver, turning parameters
into text one by one; on PostgreSQL the same work is one statement over arrays
(``= ANY(%s)``, ``unnest(%s, %s, …)``). SQLite (the embedded default) gets the plain forms.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from django.db import connection
from django.db.models import BooleanField
from django.db.models.expressions import RawSQL


def any_of(column: str, values: Iterable, array_type: str) -> RawSQL:
    """A ``.filter()`` condition ``column`` is one of ``values`` (at least one), e.g. ``any_of("analytics_enduser.id", ids, "bigint")``."""
    values = list(values)
    if connection.vendor == "postgresql":
        return RawSQL(f"{column} = ANY(%s::{array_type}[])", (values,), output_field=BooleanField())
    return RawSQL(f"{column} IN ({', '.join(['%s'] * len(values))})", tuple(values), output_field=BooleanField())


def insert_rows(
    *, table: str, columns: Sequence[str], types: Sequence[str], rows: Sequence[tuple], on_conflict: str = ""
) -> None:
    """``INSERT INTO table (columns) … on_conflict`` for every row: ``unnest`` of arrays on PostgreSQL."""
    if not rows:
        return
    names = ", ".join(columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{array_type}[]" for array_type in types)
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {on_conflict}",
                [list(column) for column in zip(*rows)],
            )
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders}) {on_conflict}", rows)


def update_rows(*, table: str, key: str, columns: Sequence[str], types: Sequence[str], rows: Sequence[tuple]) -> None:
    """``UPDATE table SET columns WHERE key = …`` per row; rows are ``(key, *values)``; one statement on PostgreSQL."""
    if not rows:
        return
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            arrays = ", ".join(f"%s::{array_type}[]" for array_type in types)
            assignments = ", ".join(f"{column} = v.{column}" for column in columns[1:])
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v({', '.join(columns)}) "
                f"WHERE t.{key} = v.{columns[0]}",
                [list(column) for column in zip(*rows)],
            )
        else:
            assignments = ", ".join(f"{column} = %s" for column in columns[1:])
            cursor.executemany(
                f"UPDATE {table} SET {assignments} WHERE {key} = %s", [(*row[1:], row[0]) for row in rows]
            )
