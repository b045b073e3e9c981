"""Drain the event stream into the database through a Redis consumer group.

A consumer started again under the same name first writes the entries it read in its previous
life and never acknowledged (its own pending list, ``XREADGROUP`` from id 0): a crashed consumer
restarted by its supervisor recovers its batch at once instead of after ``claim_min_idle_ms``.
Then each round first reclaims entries another consumer read but never acknowledged for longer
than ``claim_min_idle_ms`` (``XAUTOCLAIM``: that consumer crashed), then reads new ones
(``XREADGROUP``). The entries of a round are written in one transaction (``events_write`` per
application: COPY, ``ON CONFLICT (id) DO NOTHING``, derived state), and only after it commits are
they acknowledged and deleted (``XACK`` + ``XDEL``, one pipelined round trip). A crash between
commit and acknowledgement means the entries are written again by whoever reclaims them — which
stores nothing new, because every event id is stored once.

Run several consumers (processes, each ``manage.py consume_events``) to use several CPUs: the
group hands each entry to one of them. Writers of the same users take turns on their rows (see
``derived.users_lock``), so the event inserts of one consumer overlap the derived-state work of
another (``docs/benchmarks.md`` compares one consumer with two).

An entry that cannot be written on its own (malformed, or its application was deleted) is moved
to the dead-letter stream ``<stream>:dead`` and acknowledged, so it cannot block the rest; a
database that is down is not the entry's fault, so then nothing is acknowledged and the round is
retried later.
"""
from __future__ import annotations

import logging
import os
import socket
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import redis
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    close_old_connections,
    connection,
    transaction,
)
from django.utils import timezone

from analytics.ingest.stream import MAX_BLOCK_MS, consumer_client, entry_to_events, stream_name
from analytics.ingest.writer import events_write
from onboarding.models import Application

logger = logging.getLogger("analytics")

GROUP = "wayline-ingest"


@dataclass
class DrainStats:
    rounds: int = 0
    entries: int = 0
    events: int = 0
    new: int = 0
    dead: int = 0

    def add(self, other: DrainStats) -> None:
        for name in ("rounds", "entries", "events", "new", "dead"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


def default_consumer_name() -> str:
    return f"{socket.gethostname()}-{os.getpid()}"


class StreamConsumer:
    """One member of the consumer group; ``before_ack`` runs between commit and acknowledgement."""

    def __init__(
        self,
        *,
        client: redis.Redis | None = None,
        stream: str | None = None,
        group: str = GROUP,
        name: str | None = None,
        count: int = 250,
        claim_min_idle_ms: int = 60_000,
        before_ack: Callable[[list], None] | None = None,
    ):
        self.client = client or consumer_client()
        self.stream = stream or stream_name()
        self.group = group
        self.name = name or default_consumer_name()
        self.count = count  # entries per round; each holds up to 100 events
        self.claim_min_idle_ms = claim_min_idle_ms
        self.before_ack = before_ack
        self._group_ready = False
        self._own_backlog = True  # until its own pending list has been read empty once

    def ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self.client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except redis.ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise
        self._group_ready = True

    def round(self, *, block_ms: int | None = None) -> DrainStats:
        """Own unacknowledged entries, else reclaim abandoned ones, else read new ones (waiting up to
        ``block_ms``); write and ack."""
        self.ensure_group()
        entries = self._own_pending() if self._own_backlog else []
        if not entries:
            entries = self._reclaim()
        if not entries:
            block = None if block_ms is None else min(block_ms, MAX_BLOCK_MS)
            response = self.client.xreadgroup(self.group, self.name, {self.stream: ">"}, count=self.count, block=block)
            entries = [entry for _, stream_entries in response or () for entry in stream_entries]
        if not entries:
            return DrainStats()
        try:
            stats = self._process(entries)
        except BaseException:
            # Unacknowledged, the entries stay pending under this name (database or Redis down):
            # the next round takes them up first instead of leaving them for XAUTOCLAIM.
            self._own_backlog = True
            raise
        stats.rounds = 1
        return stats

    def drain(
        self,
        *,
        max_rounds: int | None = None,
        block_ms: int | None = None,
        stop: Callable[[], bool] = lambda: False,
        until_empty: bool = False,
    ) -> DrainStats:
        """Run rounds until ``stop()``, ``max_rounds``, or (``until_empty``) a round that finds nothing."""
        total = DrainStats()
        while not stop() and (max_rounds is None or total.rounds < max_rounds):
            connections_refresh()
            stats = self.round(block_ms=block_ms)
            if not stats.entries:
                if until_empty:
                    break
                continue
            total.add(stats)
        return total

    def _own_pending(self) -> list:
        """Entries delivered to this consumer's name and never acknowledged (it was killed mid-batch)."""
        response = self.client.xreadgroup(self.group, self.name, {self.stream: "0"}, count=self.count)
        entries = [entry for _, stream_entries in response or () for entry in stream_entries]
        if not entries:
            self._own_backlog = False
        gone = [entry_id for entry_id, fields in entries if not fields]  # deleted meanwhile: only ack
        if gone:
            self._ack(gone)
        return [(entry_id, fields) for entry_id, fields in entries if fields]

    def _reclaim(self) -> list:
        _, claimed, *_ = self.client.xautoclaim(
            self.stream, self.group, self.name, min_idle_time=self.claim_min_idle_ms, start_id="0-0", count=self.count
        )
        # Entries deleted after a crash come back with no fields: nothing to write, only to ack.
        gone = [entry_id for entry_id, fields in claimed if not fields]
        if gone:
            self._ack(gone)
        return [(entry_id, fields) for entry_id, fields in claimed if fields]

    def _process(self, entries: list) -> DrainStats:
        received = len(entries)
        entries = self._without_unknown_applications(entries)
        stats = DrainStats(entries=received, dead=received - len(entries))
        if not entries:
            return stats
        try:
            with transaction.atomic():
                for application_id, events in self._by_application(entries).items():
                    stats.events += len(events)
                    stats.new += events_write(application_id=application_id, events=events, received_at=timezone.now()).new
        except (OperationalError, InterfaceError):
            raise  # the database is unavailable: leave everything pending and let the caller retry
        except (DatabaseError, ValueError, KeyError, TypeError) as error:
            logger.warning("events.round_failed", extra={"entries": len(entries), "error": type(error).__name__})
            one_by_one = self._process_one_by_one(entries)
            one_by_one.entries, one_by_one.dead = received, one_by_one.dead + stats.dead
            return one_by_one
        self._after_commit([entry_id for entry_id, _ in entries])
        return stats

    def _process_one_by_one(self, entries: list) -> DrainStats:
        stats = DrainStats(entries=len(entries))
        for entry_id, fields in entries:
            try:
                with transaction.atomic():
                    application_id, events = entry_to_events(fields)
                    new = events_write(application_id=application_id, events=events, received_at=timezone.now()).new
                stats.events += len(events)
                stats.new += new
            except (OperationalError, InterfaceError):
                raise
            except (IntegrityError, DatabaseError, ValueError, KeyError, TypeError) as error:
                self._dead_letter(entry_id, fields, repr(error))
                stats.dead += 1
            self._after_commit([entry_id])
        return stats

    def _without_unknown_applications(self, entries: list) -> list:
        """Dead-letter entries of applications that no longer exist (their rows could never be written)."""
        ids = {}
        for entry_id, fields in entries:
            try:
                ids[entry_id] = int(fields[b"app"])
            except (KeyError, ValueError):
                ids[entry_id] = None
        known = set(Application.objects.filter(pk__in={i for i in ids.values() if i}).values_list("pk", flat=True))
        kept = []
        for entry_id, fields in entries:
            if ids[entry_id] in known:
                kept.append((entry_id, fields))
            else:
                self._dead_letter(entry_id, fields, "unknown application")
                self._after_commit([entry_id])
        return kept

    def _dead_letter(self, entry_id, fields: dict, reason: str) -> None:
        self.client.xadd(f"{self.stream}:dead", {**_str_fields(fields), "error": reason[:500]})
        logger.error("events.dead_lettered", extra={"entry_id": _str(entry_id), "error": reason[:100]})

    def _by_application(self, entries: list) -> dict[int, list[dict]]:
        grouped: dict[int, list[dict]] = defaultdict(list)
        for _, fields in entries:
            application_id, events = entry_to_events(fields)
            grouped[application_id].extend(events)
        return grouped

    def _after_commit(self, entry_ids: list) -> None:
        if self.before_ack is not None:
            self.before_ack(entry_ids)
        self._ack(entry_ids)

    def _ack(self, entry_ids: list) -> None:
        pipe = self.client.pipeline(transaction=False)
        pipe.xack(self.stream, self.group, *entry_ids)
        pipe.xdel(self.stream, *entry_ids)
        pipe.execute()


def connections_refresh() -> None:
    """Drop database connections that broke or aged out between rounds (never inside a transaction)."""
    if not connection.in_atomic_block:
        close_old_connections()


def stream_drain(*, max_seconds: float = 50.0, timer=time.monotonic, **options) -> DrainStats:
    """Drain what is in the stream now (for the periodic task): stop when empty or after ``max_seconds``."""
    deadline = timer() + max_seconds
    consumer = StreamConsumer(**options)
    return consumer.drain(stop=lambda: timer() > deadline, until_empty=True)


def _str(value) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _str_fields(fields: dict) -> dict:
    return {_str(key): value for key, value in fields.items()}
