"""``derived_state_update``: everything that follows from newly stored events, in the writer's transaction.

Called with exactly the events that were *new* in this write, so processing the same events
again changes nothing: first/last seen (min/max), per-day counters (``count = count + n`` only
for new events), journey stages and their transitions, guide state, checklist completions,
survey responses, then the post-write hooks other apps register in ``WAYLINE_INGEST_HOOKS``.

The affected users' rows are locked (``SELECT … FOR UPDATE`` in id order) before anything is
read, so concurrent writers for the same user take turns and never read a stage or a counter
the other is about to change.

Hooks are dotted paths, each called as ``hook(application_id=…, events=[…])`` inside the same
transaction, with one dict per new event::

    {"id": "<uuid>", "name": "$exposure", "user_id": <EndUser id>, "timestamp": datetime,
     "properties": {...}, "url": "...", "session_id": "..."}

A hook must be idempotent per event id (e.g. insert with a unique ``event_id``); if it raises, the
write rolls back and the batch is retried. Analytics never imports the apps that register hooks.
"""
from __future__ import annotations

import json
from collections import defaultdict
from functools import lru_cache

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.module_loading import import_string

from analytics.ingest.bulk_sql import any_of, insert_rows, select_rows, update_rows
from analytics.ingest.guide_events import guide_events_apply
from analytics.ingest.stages import StageRules, UserState, stage_rules_load, stages_update
from analytics.models import EndUser

DAILY_ON_CONFLICT = (
    "ON CONFLICT (user_id, name, day) DO UPDATE SET count = analytics_usereventdaily.count + excluded.count"
)


def derived_state_update(*, application_id: int, events: list[dict]) -> None:
    """Apply ``events`` (new, validated, ``user_pk`` resolved) to every piece of derived state."""
    if not events:
        return
    ordered = sorted(events, key=lambda event: (event["timestamp"], event["id"]))
    by_user: dict[int, list[dict]] = defaultdict(list)
    for event in ordered:
        by_user[event["user_pk"]].append(event)
    rules = stage_rules_load(application_id=application_id)
    users = users_lock(user_ids=by_user.keys(), with_traits=rules.reads_traits)
    for user_id, user_events in by_user.items():
        user = users[user_id]
        first, last = user_events[0]["timestamp"], user_events[-1]["timestamp"]
        if user.first_seen_at is None or first < user.first_seen_at:
            user.first_seen_at, user.changed = first, True
        if user.last_seen_at is None or last > user.last_seen_at:
            user.last_seen_at, user.changed = last, True
    stages_update(application_id=application_id, users=users, events_by_user=by_user, rules=rules)
    users_save(users=users.values())
    _daily_counts_add(ordered)
    surveys = any(event["name"] == "$survey_submitted" for event in ordered)
    slugs = _stage_slugs(rules, users) if surveys else {}
    guide_events_apply(application_id=application_id, events=ordered, stage_slugs=slugs)
    _hooks_run(application_id, ordered)


def users_lock(*, user_ids, with_traits: bool = True) -> dict[int, UserState]:
    """Lock the users' rows in id order and read what derived state needs (traits only if asked).

    ``FOR NO KEY UPDATE``: writers of the same user take turns, but inserting events that point at
    a user (which takes a key-share lock) never waits for, or deadlocks with, this lock.
    """
    ids = sorted(user_ids)
    if connection.vendor == "postgresql":
        traits = ", u.traits, a.traits" if with_traits else ", NULL, NULL"
        join = " LEFT JOIN analytics_account a ON a.id = u.account_id" if with_traits else ""
        rows = select_rows(
            f"SELECT u.id, u.stage_id, u.stage_entered_at, u.first_seen_at, u.last_seen_at{traits} "
            f"FROM analytics_enduser u{join} WHERE u.id = ANY(%b::bigint[]) ORDER BY u.id FOR NO KEY UPDATE OF u",
            [ids],
        )
    else:
        fields = ["traits", "account__traits"] if with_traits else []
        rows = (
            EndUser.objects.filter(any_of("analytics_enduser.id", ids, "bigint"))
            .order_by("pk")
            .values_list("id", "stage_id", "stage_entered_at", "first_seen_at", "last_seen_at", *fields)
        )
    return {row[0]: UserState(*row[:5], traits=_get(row, 5), account_traits=_get(row, 6)) for row in rows}


def _get(row: tuple, index: int) -> dict:
    value = row[index] if len(row) > index else None
    if isinstance(value, str):  # Django's connection hands jsonb over as text, for JSONField to decode
        value = json.loads(value)
    return value or {}


def users_save(*, users) -> None:
    """Write back the seen times and stages ``users_lock`` read and derived state changed."""
    adapt = connection.ops.adapt_datetimefield_value
    now = adapt(timezone.now())
    update_rows(
        table="analytics_enduser",
        key="id",
        columns=["id", "first_seen_at", "last_seen_at", "stage_id", "stage_entered_at", "updated_at"],
        types=["bigint", "timestamptz", "timestamptz", "bigint", "timestamptz", "timestamptz"],
        rows=[
            (u.id, adapt(u.first_seen_at), adapt(u.last_seen_at), u.stage_id, adapt(u.stage_entered_at), now)
            for u in sorted(users, key=lambda u: u.id)
            if u.changed
        ],
    )


def _daily_counts_add(events: list[dict]) -> None:
    counts: dict[tuple, int] = defaultdict(int)
    for event in events:
        counts[(event["user_pk"], event["name"], event["timestamp"].date())] += 1
    adapt = connection.ops.adapt_datefield_value
    insert_rows(
        table="analytics_usereventdaily",
        columns=["user_id", "name", "day", "count"],
        types=["bigint", "varchar", "date", "integer"],
        rows=[(user_id, name, adapt(day), count) for (user_id, name, day), count in sorted(counts.items())],
        on_conflict=DAILY_ON_CONFLICT,
    )


def _stage_slugs(rules: StageRules, users: dict[int, UserState]) -> dict[int, str]:
    slugs = {stage.id: stage.slug for stage in rules.stages}
    return {user.id: slugs.get(user.stage_id, "") for user in users.values() if user.stage_id}


@lru_cache(maxsize=8)
def _hooks(paths: tuple[str, ...]) -> tuple:
    return tuple(import_string(path) for path in paths)


def _hooks_run(application_id: int, events: list[dict]) -> None:
    hooks = _hooks(tuple(getattr(settings, "WAYLINE_INGEST_HOOKS", ())))
    if not hooks:
        return
    public = [
        {
            "id": event["id"], "name": event["name"], "user_id": event["user_pk"], "timestamp": event["timestamp"],
            "properties": event["properties"], "url": event["url"], "session_id": event["session_id"],
        }
        for event in events
    ]
    for hook in hooks:
        hook(application_id=application_id, events=public)
