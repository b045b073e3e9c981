"""Write simulated data: through the real ingest writer (demo size) or with ``COPY`` (scale size).

Both paths create the accounts and users first (in bulk, with the traits identify would set: one
``user_identify`` call per user costs about 10 ms, too slow for tens of thousands), then hand the
users' database ids to the caller, whose ``units`` callback names each user's randomisation unit
the way the real assignment does and whose ``on_chunk`` callback records the exposures — in the
product the content decision records them when it first shows a variant, and the simulated users
make no content requests (the experiments app lives above analytics, so it is reached through
these callbacks only).

``ingest`` path (``simulation_load_ingest``): every event goes through
``analytics.ingest.validation.validate_batch`` and ``analytics.ingest.writer.events_write``,
exactly like events from the API, so derived state (counters, stages, guide state, checklist
items, survey answers) comes from the product's own code. A batch holds *all* the events of its
users, in time order (like a backfill of their history; chunks and batches hold disjoint users):
the writer's per-batch work for a user — lock, counters, stage evaluation — then happens once per
user instead of once per batch the user has events in, and the stages it derives are the ones the
set-wise rebuild of the ``copy`` path derives (that rebuild sees each user's whole history too).

``copy`` path (``simulation_load_copy``, PostgreSQL): users, accounts and events are streamed with
``COPY … FROM STDIN`` and the derived tables are rebuilt afterwards by the set-wise SQL in
``derived_sql``. The two paths are kept consistent by a test that loads the same simulation
both ways and compares every derived table row by row (``tests/analytics/test_simulation.py``).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import numpy as np
from django.db import connection, transaction

from analytics.ingest.validation import MAX_EVENTS, dumps, validate_batch
from analytics.ingest.writer import events_write
from analytics.models import Account, EndUser
from analytics.simulation.events import EVENT_NAMES, MS_PER_DAY, PAGES
from analytics.simulation.generator import Chunk, Population, Simulation, Units

logger = logging.getLogger("analytics")

UnitsFn = Callable[[Population, "UserIds"], Units]
ChunkFn = Callable[[Chunk, "UserIds"], None]
INGEST_BATCH = 25_000  # events per writer call; whole users each (see user_batches)
DERIVED_TABLES = ("analytics_usereventdaily", "analytics_stagetransition", "analytics_guidestate",
                  "analytics_checklistitemcompletion", "analytics_surveyresponse", "analytics_enduser")
RECEIVE_DELAY = timedelta(seconds=2)


@dataclass(frozen=True)
class UserIds:
    """Database ids of a population's users and accounts, by position."""

    users: list[int]
    accounts: list[int]


@dataclass
class LoadStats:
    users: int = 0
    accounts: int = 0
    events: int = 0
    new_events: int = 0
    seconds: dict[str, float] = field(default_factory=dict)

    def timed(self, step: str, started: float) -> None:
        self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - started


def users_create(*, application_id: int, population: Population) -> UserIds:
    """Create the population's accounts and users (existing ones are kept) and return their ids.

    Plain ``INSERT … ON CONFLICT DO NOTHING`` rows in one ``executemany`` per table: the ORM's
    ``bulk_create`` costs more than the insert itself in preparing each field of each instance.
    """
    adapt = connection.ops.adapt_datetimefield_value
    stamp = adapt(datetime.now(timezone.utc))
    rows_insert(
        "analytics_account", ("application_id", "external_id", "traits", "created_at", "updated_at"),
        [(application_id, external_id, dumps(traits), stamp, stamp)
         for external_id, traits in zip(population.account_ids, population.account_traits)],
        on_conflict="ON CONFLICT (application_id, external_id) DO NOTHING",
    )
    accounts = _ids(Account, application_id, population.account_ids)
    account_pks = [accounts[external_id] for external_id in population.account_ids]
    rows_insert(
        "analytics_enduser", ("application_id", "external_id", "account_id", "traits", "created_at", "updated_at"),
        [(application_id, external_id, account_pks[account], dumps(traits), stamp, stamp)
         for external_id, traits, account in zip(population.user_ids, population.user_traits,
                                                  population.user_account.tolist())],
        on_conflict="ON CONFLICT (application_id, external_id) WHERE external_id IS NOT NULL DO NOTHING",
    )
    users = _ids(EndUser, application_id, population.user_ids)
    return UserIds(users=[users[external_id] for external_id in population.user_ids], accounts=account_pks)


def rows_insert(table: str, columns: tuple[str, ...], rows: list[tuple], *, on_conflict: str) -> None:
    """``INSERT INTO table (columns) VALUES … on_conflict`` for every row (values as the database stores them)."""
    if rows:
        placeholders = ", ".join(["%s"] * len(columns))
        with connection.cursor() as cursor:
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders}) {on_conflict}", rows)


def _ids(model, application_id: int, external_ids: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    for start in range(0, len(external_ids), 5000):
        found.update(
            model.objects.filter(application_id=application_id, external_id__in=external_ids[start:start + 5000])
            .values_list("external_id", "id")
        )
    return found


def event_payloads(sim: Simulation, chunk: Chunk, rows: slice | np.ndarray = slice(None),
                   iso_times: np.ndarray | None = None) -> list[dict]:
    """The chunk's events ``rows`` (a slice or an index array) as the API receives them (what
    ``validate_batch`` reads); ``iso_times`` is ``chunk.events.iso_times()`` when the caller has it."""
    events = chunk.events
    user_ids = chunk.population.user_ids
    names = np.array(EVENT_NAMES, dtype=object)[events.name[rows]].tolist()
    urls = [f"{sim.config.base_url}/{page}" for page in PAGES]
    properties = sim.properties.objects
    days = (events.ts_ms[rows] // MS_PER_DAY).tolist()
    ids = [f"{hi:016x}{lo:016x}" for hi, lo in zip(events.id_hi[rows].tolist(), events.id_lo[rows].tolist())]
    times = (events.iso_times() if iso_times is None else iso_times)[rows].tolist()
    return [
        {"id": event_id, "name": name, "user_id": user_ids[user], "timestamp": when,
         "properties": properties[code], "url": urls[page], "session_id": f"{user_ids[user]}.{day}"}
        for event_id, name, user, when, code, page, day in zip(
            ids, names, events.user[rows].tolist(), times, events.props[rows].tolist(), events.page[rows].tolist(),
            days,
        )
    ]


def user_batches(chunk: Chunk, batch_size: int) -> list[np.ndarray]:
    """The chunk's event positions in batches of about ``batch_size`` events, each holding every
    event of its users (consecutive users of the chunk) in time order."""
    events = chunk.events
    per_user = np.bincount(events.user, minlength=len(chunk.population))
    group = np.cumsum(per_user) // max(batch_size, 1)  # users whose events end in the same stretch share a batch
    order = np.argsort(group[events.user], kind="stable")  # stable: time order is kept inside a batch
    bounds = np.flatnonzero(np.diff(group[events.user][order])) + 1
    return [part for part in np.split(order, bounds) if len(part)]


def simulation_load_ingest(*, application_id: int, simulation: Simulation, units: UnitsFn | None = None,
                           on_chunk: ChunkFn | None = None, now: datetime | None = None,
                           batch_size: int = INGEST_BATCH,
                           progress: Callable[[LoadStats], None] | None = None) -> LoadStats:
    """Load a simulation through the real validation and ingest writer (any database)."""
    now = now or datetime.now(timezone.utc)
    max_age = now - simulation.config.start + timedelta(days=1)  # a backfill: accept the whole period
    stats = LoadStats()
    def create(population):
        return users_create(application_id=application_id, population=population)

    for population, chunk, ids in _chunks(simulation, create, units, on_chunk, stats):
        iso_times = chunk.events.iso_times()
        for rows in user_batches(chunk, batch_size):
            started = time.perf_counter()
            raw = event_payloads(simulation, chunk, rows, iso_times)
            valid: list[dict] = []
            for offset in range(0, len(raw), MAX_EVENTS):
                result = validate_batch({"events": raw[offset:offset + MAX_EVENTS]}, now=now, max_age=max_age)
                if result.rejected:
                    raise ValueError(f"the simulator produced invalid events: {result.rejected[:3]}")
                valid.extend(result.events)
            for event in valid:
                event["received_at"] = event["timestamp"] + RECEIVE_DELAY
            stats.timed("validate", started)
            started = time.perf_counter()
            written = events_write(application_id=application_id, events=valid, received_at=now)
            stats.timed("write", started)
            stats.events += len(valid)
            stats.new_events += written.new
            if progress:
                progress(stats)
        logger.info("simulation.chunk_loaded", extra={"application_id": application_id, "chunk": population.index,
                                                     "events": len(chunk.events)})
    return stats


def simulation_load_copy(*, application_id: int, simulation: Simulation, units: UnitsFn | None = None,
                         on_chunk: ChunkFn | None = None, now: datetime | None = None,
                         bulk_mode: bool = False) -> LoadStats:
    """Load a simulation into PostgreSQL with ``COPY``, then rebuild derived state set-wise.

    ``bulk_mode`` (a dedicated database, e.g. the scale dataset): foreign-key triggers are off
    for the session and the events table's secondary indexes are dropped during the load and
    built once afterwards — the usual bulk-load recipe, about three times faster. The generator
    only writes ids it created, and ``orphans_count`` checks that afterwards.
    """
    if connection.vendor != "postgresql":
        raise RuntimeError("the COPY loader needs PostgreSQL (DATABASE_URL)")
    now = now or datetime.now(timezone.utc)
    stats = LoadStats()
    with bulk_load(("analytics_event",), enabled=bulk_mode, stats=stats):
        _copy_chunks(application_id, simulation, units, on_chunk, now, stats)
    started = time.perf_counter()
    from analytics.simulation import derived_sql

    with bulk_load(DERIVED_TABLES, enabled=bulk_mode, stats=stats):
        derived_sql.derived_state_rebuild(application_id=application_id, seconds=stats.seconds)
    stats.timed("derived state", started)
    return stats


@contextmanager
def bulk_load(tables: tuple[str, ...], *, enabled: bool, stats: LoadStats):
    """Foreign-key triggers off (superusers only) and ``tables``' secondary indexes dropped, then rebuilt."""
    if not enabled:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        superuser = bool(cursor.fetchone()[0])
        if superuser:
            cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid "
            "JOIN pg_class t ON t.oid = x.indrelid WHERE t.relname = ANY(%s) AND NOT x.indisunique "
            "AND NOT x.indisprimary", [list(tables)],
        )
        indexes = cursor.fetchall()
        for name, _definition in indexes:
            cursor.execute(f"DROP INDEX IF EXISTS {connection.ops.quote_name(name)}")
    try:
        yield
    finally:
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for _name, definition in indexes:
                cursor.execute(definition.replace("CREATE INDEX", "CREATE INDEX IF NOT EXISTS", 1))
            if superuser:
                cursor.execute("SET session_replication_role = DEFAULT")
        if indexes:
            stats.timed("index build", started)


@contextmanager
def sqlite_load_pragmas(*, cache_mib: int = 256):
    """On SQLite, for a bulk load on this connection: a page cache that holds the database, temporary
    b-trees in memory, and commits without an fsync each (``synchronous = NORMAL``: in WAL mode a
    crash loses at most the last commits, never consistency); the previous settings come back after.
    Inside a transaction (SQLite refuses some of these there) nothing changes."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    pragmas = {"cache_size": -cache_mib * 1024, "temp_store": 2, "synchronous": 1}
    with connection.cursor() as cursor:
        previous = {}
        for name, value in pragmas.items():
            cursor.execute(f"PRAGMA {name}")
            previous[name] = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA {name} = {int(value)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for name, value in previous.items():
                cursor.execute(f"PRAGMA {name} = {int(value)}")


def orphans_count(*, application_id: int) -> int:
    """Events whose user is missing or of another application (0 after a correct bulk load)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM analytics_event e LEFT JOIN analytics_enduser u ON u.id = e.user_id "
            "WHERE e.application_id = %s AND (u.id IS NULL OR u.application_id <> e.application_id)",
            [application_id],
        )
        return int(cursor.fetchone()[0])


def _chunks(simulation: Simulation, create_users, units, on_chunk, stats: LoadStats):
    """Per population: its users created (``create_users(population)`` → ids), its journeys
    generated and ``on_chunk`` applied, timed into ``stats``; yields (population, chunk, ids)."""
    for population in simulation.populations():
        started = time.perf_counter()
        with transaction.atomic():
            ids = create_users(population)
        stats.users += len(population)
        stats.accounts += len(population.account_ids)
        stats.timed("users", started)
        started = time.perf_counter()
        chunk = simulation.journeys(population, units(population, ids) if units else None)
        stats.timed("generate", started)
        if on_chunk:
            started = time.perf_counter()
            with transaction.atomic():
                on_chunk(chunk, ids)
            stats.timed("exposures", started)
        yield population, chunk, ids


def _copy_chunks(application_id: int, simulation: Simulation, units, on_chunk, now: datetime,
                 stats: LoadStats) -> None:
    properties = simulation.properties
    def create(population):
        return _users_copy(application_id, population, now)

    for population, chunk, ids in _chunks(simulation, create, units, on_chunk, stats):
        started = time.perf_counter()
        with transaction.atomic():
            _events_copy(application_id, simulation, chunk, ids, properties.copy_text())
        stats.events += len(chunk.events)
        stats.new_events += len(chunk.events)
        stats.timed("copy events", started)
        logger.info("simulation.chunk_copied", extra={"application_id": application_id, "chunk": population.index,
                                                     "events": len(chunk.events)})


def copy_rows(table: str, columns: tuple[str, ...], lines) -> None:
    """Stream text-format lines (tab-separated, ``\\N`` for NULL) into ``table`` with COPY."""
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
            buffer: list[str] = []
            for line in lines:
                buffer.append(line)
                if len(buffer) >= 20_000:
                    copy.write("".join(buffer))
                    buffer.clear()
            if buffer:
                copy.write("".join(buffer))


def next_ids(table: str, count: int) -> int:
    """Reserve ``count`` ids of ``table``'s sequence; returns the first one."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT pg_get_serial_sequence('{table}', 'id')")
        sequence = cursor.fetchone()[0]
        cursor.execute(
            "SELECT setval(%s, GREATEST((SELECT COALESCE(MAX(id), 0) FROM " + table + "), "
            "(SELECT last_value FROM " + sequence + ")) + %s)", [sequence, count]
        )
        return int(cursor.fetchone()[0]) - count + 1


def _users_copy(application_id: int, population: Population, now: datetime) -> UserIds:
    stamp = now.isoformat()
    first_account = next_ids("analytics_account", len(population.account_ids))
    account_pks = list(range(first_account, first_account + len(population.account_ids)))
    copy_rows("analytics_account", ("id", "application_id", "external_id", "traits", "created_at", "updated_at"), (
        f"{pk}\t{application_id}\t{external_id}\t{_copy_text(dumps(traits))}\t{stamp}\t{stamp}\n"
        for pk, external_id, traits in zip(account_pks, population.account_ids, population.account_traits)
    ))
    first_user = next_ids("analytics_enduser", len(population))
    user_pks = list(range(first_user, first_user + len(population)))
    columns = ("id", "application_id", "external_id", "account_id", "traits", "created_at", "updated_at")
    copy_rows("analytics_enduser", columns, (
        f"{pk}\t{application_id}\t{external_id}\t{account_pks[account]}\t{_copy_text(dumps(traits))}\t{stamp}\t{stamp}\n"
        for pk, external_id, account, traits in zip(user_pks, population.user_ids, population.user_account.tolist(),
                                                     population.user_traits)
    ))
    return UserIds(users=user_pks, accounts=account_pks)


def _events_copy(application_id: int, sim: Simulation, chunk: Chunk, ids: UserIds, properties: list[str]) -> None:
    events = chunk.events
    user_pks = ids.users
    user_ids = chunk.population.user_ids
    names = np.array(EVENT_NAMES, dtype=object)[events.name].tolist()
    urls = [f"{sim.config.base_url}/{page}" for page in PAGES]
    times = events.iso_times()
    received = np.datetime_as_string((events.ts_ms + int(RECEIVE_DELAY.total_seconds() * 1000))
                                     .astype("datetime64[ms]"), unit="ms")
    days = (events.ts_ms // MS_PER_DAY).tolist()
    columns = ("id", "application_id", "user_id", "name", "timestamp", "received_at", "timestamp_clamped",
               "properties", "url", "session_id")
    copy_rows("analytics_event", columns, (
        f"{hi:016x}{lo:016x}\t{application_id}\t{user_pks[user]}\t{name}\t{when}+00\t{got}+00\tf\t"
        f"{properties[code]}\t{urls[page]}\t{user_ids[user]}.{day}\n"
        for hi, lo, user, name, when, got, code, page, day in zip(
            events.id_hi.tolist(), events.id_lo.tolist(), events.user.tolist(), names, times.tolist(),
            received.tolist(), events.props.tolist(), events.page.tolist(), days,
        )
    ))


def _copy_text(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
