"""Selectors for what the content decision knows about one user: one query per request.

The *visitor* query reads, in one round trip:

* the application's version (for ``onboarding.config_cache``, which rebuilds when it moved);
* the user, by external id or through the alias of an anonymous id, with their account's traits;
* exactly the counters the live segment rules read, as conditional sums over the user's
  ``UserEventDaily`` rows (one range of the unique ``(user, name, day)`` index);
* the user's guide states and completed checklist items.

The counters named are those of the configuration this process last built. When the version
shows it is stale and the rebuilt configuration reads other counters, those are fetched with
``event_counts_get`` (a second query, once per change). An unknown user is treated as a new
user with no traits; nothing is created here (identify and events create users).

This runs on every content request, so it is plain SQL on ``connection.cursor()``: each database
round trip, and the ORM's building of a query, cost more than the decision itself (see
``bench/decide.py`` and docs/benchmarks.md). Table names come from the models; values are always
bound parameters. Lists come back as JSON arrays, built by ``json_build_array``/``json_agg`` on
PostgreSQL and ``json_array``/``json_group_array`` on SQLite; ``_json``, ``_datetime`` even out
what the two drivers return.

Behaviour windows are calendar days in UTC: ``within_days = D`` counts today and the D - 1
days before it (as ``analytics.ingest.stages`` does); no window counts every day.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any

from django.db import connection

from analytics.decision import user_facts_for
from analytics.decision_rules import UserGuideState
from analytics.models import Account, ChecklistItemCompletion, EndUser, GuideState, UserAlias, UserEventDaily
from onboarding.config_cache import (
    VERSION_COLUMNS,
    PublishedConfig,
    published_config_cached,
    published_config_get,
)
from onboarding.models import Application
from onboarding.rules import UserFacts

CounterKey = tuple[str, int | None]  # (event, within_days)
_USER_FIELDS = ["id", "application_id", "external_id", "account_id", "traits", "stage_id"]
_TRAITS = _USER_FIELDS.index("traits")
# JSON functions: (build an array, aggregate rows into an array) per database vendor.
_JSON_FUNCTIONS = {"postgresql": ("json_build_array", "json_agg"), "sqlite": ("json_array", "json_group_array")}


@dataclass(frozen=True)
class UserSnapshot:
    config: PublishedConfig
    user: EndUser | None  # None: not known yet
    facts: UserFacts
    states: Mapping[int, UserGuideState] = field(default_factory=dict)
    completed_items: frozenset[int] = frozenset()  # checklist items this user completed


def user_snapshot_get(
    *, application: Application, user_id: str | None, anonymous_id: str | None, today: date
) -> UserSnapshot:
    """The current configuration and everything its rules may read about the user.

    ``user_id`` (an identified user) is preferred over ``anonymous_id``.
    """
    previous = published_config_cached(application_id=application.id)
    keys = _sorted_keys(previous.counter_keys if previous is not None else ())
    lookup, value = ("external", user_id) if user_id else ("anonymous", anonymous_id) if anonymous_id else ("", None)
    params = [*_counter_params(keys, today), *([value] if lookup else []), application.id]
    with connection.cursor() as cursor:
        cursor.execute(_visitor_sql(connection.vendor, lookup, keys), params)
        row = cursor.fetchone()
    token = tuple(row[: len(VERSION_COLUMNS)]) if row is not None else None
    config = published_config_get(application=application, version_token=token)
    user_values = list(row[len(VERSION_COLUMNS): len(VERSION_COLUMNS) + len(_USER_FIELDS)]) if row else [None]
    if user_values[0] is None:
        facts = user_facts_for(config=config, traits={}, account_traits={}, stage=None, event_counts={})
        return UserSnapshot(config=config, user=None, facts=facts)
    account_traits, totals, states, completed = row[len(VERSION_COLUMNS) + len(_USER_FIELDS):]
    user_values[_TRAITS] = _json_object(user_values[_TRAITS])
    user = EndUser.from_db(connection.alias, _USER_FIELDS, user_values)
    if config.counter_keys == set(keys):
        counts = {key: int(total or 0) for key, total in zip(keys, _json(totals) or ())}
    else:  # the configuration changed since the last request and reads other counters
        counts = event_counts_get(user_id=user.id, keys=config.counter_keys, today=today)
    facts = user_facts_for(
        config=config,
        traits=user.traits,
        account_traits=_json_object(account_traits),
        stage=config.stage_slugs.get(user.stage_id),
        event_counts=counts,
    )
    return UserSnapshot(
        config=config, user=user, facts=facts, states=_guide_states(_json(states) or ()),
        completed_items=frozenset(_json(completed) or ()),
    )


@lru_cache(maxsize=512)
def _visitor_sql(vendor: str, lookup: str, keys: tuple[CounterKey, ...]) -> str:
    array, aggregate = _JSON_FUNCTIONS[vendor]
    users, daily = EndUser._meta.db_table, UserEventDaily._meta.db_table
    if lookup == "external":
        join = f"LEFT JOIN {users} u ON u.application_id = app.id AND u.external_id = %s"
    elif lookup == "anonymous":
        join = (f"LEFT JOIN {UserAlias._meta.db_table} x ON x.application_id = app.id AND x.anonymous_id = %s "
                f"LEFT JOIN {users} u ON u.id = x.user_id")
    else:
        join = f"LEFT JOIN {users} u ON 1 = 0"
    if keys:
        counts = (f"(SELECT {array}({', '.join(_sum_sql(days) for _, days in keys)}) FROM {daily} d "
                  f"WHERE d.user_id = u.id{_filter_sql(keys)})")
    else:
        counts = "NULL"
    states = (
        f"(SELECT {aggregate}({array}(s.guide_id, s.seen_count, s.last_seen_at, s.last_session_id, s.dismissed_at, "
        f"s.completed_at)) FROM {GuideState._meta.db_table} s WHERE s.user_id = u.id)"
    )
    completed = (f"(SELECT {aggregate}(c.item_id) FROM {ChecklistItemCompletion._meta.db_table} c "
                 "WHERE c.user_id = u.id)")
    return (
        f"SELECT {', '.join('app.' + column for column in VERSION_COLUMNS)}, "
        f"{', '.join('u.' + column for column in _USER_FIELDS)}, a.traits, {counts}, {states}, {completed} "
        f"FROM {Application._meta.db_table} app {join} "
        f"LEFT JOIN {Account._meta.db_table} a ON a.id = u.account_id WHERE app.id = %s"
    )


def _filter_sql(keys: tuple[CounterKey, ...]) -> str:
    """Only the rows any sum reads: the events named, from the start of the widest window."""
    names = len({event for event, _ in keys})
    window = " AND d.day >= %s" if all(days for _, days in keys) else ""
    return f" AND d.name IN ({', '.join(['%s'] * names)}){window}"


def _sum_sql(days: int | None) -> str:
    return f"SUM(CASE WHEN d.name = %s{' AND d.day >= %s' if days else ''} THEN d.count ELSE 0 END)"


def _counter_params(keys: tuple[CounterKey, ...], today: date) -> list:
    """Parameters of the counts in ``_visitor_sql``: each sum's, then the ``_filter_params``."""
    return [*_sum_params(keys, today), *_filter_params(keys, today)] if keys else []


def _sum_params(keys: tuple[CounterKey, ...], today: date) -> list:
    adapt = connection.ops.adapt_datefield_value
    params: list = []
    for event, days in keys:
        params += [event, adapt(_since(days, today))] if days else [event]
    return params


def _filter_params(keys: tuple[CounterKey, ...], today: date) -> list:
    """The event names, then the start of the widest window (when every key has a window)."""
    names: list = sorted({event for event, _ in keys})
    if all(days for _, days in keys):
        names.append(connection.ops.adapt_datefield_value(_since(max(days for _, days in keys), today)))
    return names


def _since(days: int, today: date) -> date:
    return today - timedelta(days=days - 1)


def _sorted_keys(keys: Iterable[CounterKey]) -> tuple[CounterKey, ...]:
    return tuple(sorted(set(keys), key=lambda key: (key[0], key[1] or 0)))


def event_counts_get(*, user_id: int, keys: Iterable[CounterKey], today: date) -> dict[CounterKey, int]:
    """How many times the user did each event in each window, for ``rules.UserFacts``; one query."""
    keys = _sorted_keys(keys)
    if not keys:
        return {}
    sql = f"SELECT {', '.join(_sum_sql(days) for _, days in keys)} FROM {UserEventDaily._meta.db_table} d "
    sql += f"WHERE d.user_id = %s{_filter_sql(keys)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*_sum_params(keys, today), user_id, *_filter_params(keys, today)])
        totals = cursor.fetchone()
    return {key: int(total or 0) for key, total in zip(keys, totals)}


def _guide_states(rows: Iterable[list]) -> dict[int, UserGuideState]:
    return {
        guide_id: UserGuideState(
            seen_count=seen, last_seen_at=_datetime(seen_at), last_session_id=session or "",
            dismissed_at=_datetime(dismissed), completed_at=_datetime(completed),
        )
        for guide_id, seen, seen_at, session, dismissed, completed in rows
    }


def _json(value: Any) -> Any:
    """A JSON value as Python: Django's PostgreSQL setup returns ``jsonb`` as text, SQLite all JSON."""
    return json.loads(value) if isinstance(value, (str, bytes)) else value


def _json_object(value: Any) -> dict:
    """Traits as a dict; anything but a JSON object (NULL, a list, bad text) counts as none."""
    try:
        value = _json(value)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _datetime(value: str | None) -> datetime | None:
    """A timestamp from a JSON array: ISO text, naive UTC on SQLite."""
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
