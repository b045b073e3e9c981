"""SQL fragments that mean the same on SQLite (≥ 3.35) and PostgreSQL, and a cursor helper.

Reports write their aggregations as SQL with ``%s`` parameters; these helpers hide the few
places where the two databases spell things differently (dates, epochs, JSON properties) and
normalise what comes back (SQLite returns dates as text, PostgreSQL returns ``Decimal``).
"""
from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet

_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")


def postgres() -> bool:
    return connection.vendor == "postgresql"


def day_of(timestamp: str) -> str:
    """The UTC calendar day of a timestamp column."""
    return f"((({timestamp}) AT TIME ZONE 'UTC')::date)" if postgres() else f"date({timestamp})"


def week_of(day: str) -> str:
    """The Monday that starts the ISO week of a date expression."""
    return f"(date_trunc('week', {day})::date)" if postgres() else f"date({day}, 'weekday 0', '-6 days')"


def month_of(day: str) -> str:
    return f"(date_trunc('month', {day})::date)" if postgres() else f"date({day}, 'start of month')"


def next_month(month: str) -> str:
    return f"(({month}) + interval '1 month')::date" if postgres() else f"date({month}, '+1 month')"


def plus_days(day: str, days: int) -> str:
    """A date expression moved by a whole number of days."""
    days = int(days)
    return f"(({day}) + {days})" if postgres() else f"date({day}, '{days:+d} days')"


def ts_plus_days(timestamp: str, days: int) -> str:
    """A timestamp expression moved by a whole number of days (comparable with stored timestamps)."""
    days = int(days)
    if postgres():
        return f"(({timestamp}) + interval '{days} days')"
    return f"strftime('%%Y-%%m-%%d %%H:%%M:%%f', {timestamp}, '{days:+d} days')"


def days_between(later: str, earlier: str) -> str:
    """Whole days from one date expression to another."""
    if postgres():
        return f"(({later}) - ({earlier}))"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def epoch(timestamp: str) -> str:
    """Seconds since 1970 of a timestamp expression, as a float."""
    if postgres():
        return f"EXTRACT(EPOCH FROM ({timestamp}))::float8"
    return f"((julianday({timestamp}) - 2440587.5) * 86400.0)"


def json_text(column: str, key: str) -> str:
    """A JSON property as text (numbers as their digits), NULL when missing."""
    _check_key(key)
    return f"({column} ->> '{key}')" if postgres() else f"CAST(json_extract({column}, '$.{key}') AS TEXT)"


def json_number(column: str, key: str) -> str:
    """A JSON property when it is a number, else NULL (never an error on odd data)."""
    _check_key(key)
    if postgres():
        return f"(CASE WHEN jsonb_typeof({column} -> '{key}') = 'number' THEN ({column} ->> '{key}')::float8 END)"
    return f"(CASE WHEN json_type({column}, '$.{key}') IN ('integer', 'real') THEN json_extract({column}, '$.{key}') END)"


def sample_order(column: str) -> str:
    """A deterministic pseudo-random order (Knuth's multiplicative hash), for bounded samples."""
    return f"(({column} * 2654435761) %% 4294967296)"


def _check_key(key: str) -> None:
    if not _KEY.match(key):
        raise ValueError(f"not a safe JSON property name: {key!r}")


def date_placeholder() -> str:
    """A ``%s`` that the database reads as a date (SQLite keeps dates as ISO text)."""
    return "CAST(%s AS date)" if postgres() else "%s"


def ts_param(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def date_param(value: date) -> Any:
    return connection.ops.adapt_datefield_value(value)


def subquery(queryset: QuerySet) -> tuple[str, list]:
    """A queryset's SQL and parameters, to embed as ``IN (…)``."""
    sql, params = queryset.query.sql_with_params()
    return sql, list(params)


def users_subquery(users) -> tuple[str | None, list]:
    """SQL and parameters of a users queryset or ``UserScope``; ``None`` when it is every user."""
    if getattr(users, "everyone", False):
        return None, []
    return subquery(getattr(users, "users", users))


def in_users(column: str, users_sql: str | None) -> str:
    """``column IN (users)``, or a condition that is always true when the scope is everyone."""
    return "1 = 1" if users_sql is None else f"{column} IN ({users_sql})"


def in_ids(column: str, ids: Sequence[int]) -> tuple[str, list]:
    """``column`` among a bounded list of ids, as one parameter (not one per id)."""
    if postgres():
        return f"{column} = ANY(%s)", [list(ids)]
    return f"{column} IN (SELECT value FROM json_each(%s))", [json.dumps(list(ids))]


def fetch(sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    with transaction.atomic(), connection.cursor() as cursor:
        if postgres():
            # Report queries have large cost estimates, so PostgreSQL would JIT-compile them, which
            # costs seconds and saves milliseconds here; more sort memory keeps their sorts and
            # hashes off disk. LOCAL keeps both settings to this one query.
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL work_mem = '64MB'")
        cursor.execute(sql, list(params))
        return [tuple(_plain(value) for value in row) for row in cursor.fetchall()]


def execute(statement: str, params: Sequence[Any] = ()) -> int:
    """Run a write; the number of rows it touched."""
    with connection.cursor() as cursor:
        cursor.execute(statement, list(params))
        return max(cursor.rowcount, 0)


def as_date(value: Any) -> date | None:
    if value is None or (isinstance(value, date) and not isinstance(value, datetime)):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value
