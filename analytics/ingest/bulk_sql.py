"""Set-at-a-time SQL for the ingest path: one statement per batch on PostgreSQL, portable elsewhere.

A consumer round touches thousands of users. ``IN (%s, %s, …)`` with thousands of parameters and
``executemany`` with thousands of rows spend most of their time in the driver, turning parameters
into text one by one; on PostgreSQL the same work is one statement over arrays
(``= ANY(%s)``, ``unnest(%s, %s, …)``), sent in binary through the psycopg connection Django holds
(same connection, same transaction). SQLite (the embedded default) gets the plain forms.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import contextmanager

import psycopg
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
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%b::{array_type}[]" for array_type in types)
        with _raw_cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {table} ({names}) SELECT * FROM unnest({arrays}) {on_conflict}",
                [list(column) for column in zip(*rows)],
            )
        return
    placeholders = ", ".join(["%s"] * len(columns))
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({placeholders}) {on_conflict}", rows)


def update_rows(*, table: str, key: str, columns: Sequence[str], types: Sequence[str], rows: Sequence[tuple]) -> None:
    """``UPDATE table SET columns WHERE key = …`` per row; rows are ``(key, *values)``; one statement on PostgreSQL."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        arrays = ", ".join(f"%b::{array_type}[]" for array_type in types)
        assignments = ", ".join(f"{column} = v.{column}" for column in columns[1:])
        with _raw_cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} AS t SET {assignments} FROM unnest({arrays}) AS v({', '.join(columns)}) "
                f"WHERE t.{key} = v.{columns[0]}",
                [list(column) for column in zip(*rows)],
            )
        return
    assignments = ", ".join(f"{column} = %s" for column in columns[1:])
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE {key} = %s", [(*row[1:], row[0]) for row in rows])


def select_rows(sql: str, params: Sequence) -> list[tuple]:
    """Run a PostgreSQL query with binary parameters (``%b``) and results on Django's connection; all rows."""
    with _raw_cursor(binary=True) as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@contextmanager
def _raw_cursor(binary: bool = False):
    """A psycopg cursor (server-side binding) on the connection, and in the transaction, Django uses.

    Errors come out as Django's (``IntegrityError``, ``OperationalError``…), like any other query's.
    """
    connection.ensure_connection()
    # Django's own cursors bind parameters client-side (as SQL text); this one sends them apart, in binary.
    with connection.wrap_database_errors, psycopg.Cursor(connection.connection) as cursor:
        if binary:
            cursor.format = psycopg.pq.Format.BINARY
        yield cursor
