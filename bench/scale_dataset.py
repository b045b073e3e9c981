"""The scale dataset: 1,000,000 simulated users in PostgreSQL, and what partitioning changes.

    .venv/bin/python bench/scale_dataset.py load --users 1000000      # (re)create wayline_scale, COPY the data
    .venv/bin/python bench/scale_dataset.py queries                   # report queries: plain vs partitioned
    .venv/bin/python bench/scale_dataset.py consumers --users 20000   # ingest consumers: 1 vs 2 workers

``load`` drops and recreates the database (``--database-url``, default
postgres://postgres@127.0.0.1:5432/wayline_scale), migrates it and runs
``manage.py simulate_scale`` (generation in numpy chunks streamed with ``COPY … FROM STDIN``,
derived tables rebuilt set-wise), then prints the sizes on disk. ``queries`` copies the events
into a monthly-partitioned table (``analytics.partitioning``, the same DDL ``manage.py
partition_events`` applies) and times report-style queries against both, each the median of
``--repeat`` runs. ``consumers`` appends freshly simulated events to a Redis stream and times
``manage.py consume_events --once`` draining it with one and with two processes (then deletes
the users it added, so the dataset stays as loaded). Results are
written to ``var/bench-scale.json`` and printed as Markdown for docs/benchmarks.md. Never part of
the test suite.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/wayline_scale"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
RESULTS = ROOT / "var" / "bench-scale.json"

# Report-style queries; {events} is the table, %(app)s the application, %(since)s / %(until)s a window.
QUERIES = {
    "events per day, one event, last 30 days": """
        SELECT (timestamp AT TIME ZONE 'UTC')::date, COUNT(*) FROM {events}
        WHERE application_id = %(app)s AND name = 'report_viewed' AND timestamp >= %(since30)s AND timestamp < %(until)s
        GROUP BY 1""",
    "active users, last 7 days": """
        SELECT COUNT(DISTINCT user_id) FROM {events}
        WHERE application_id = %(app)s AND timestamp >= %(since7)s AND timestamp < %(until)s""",
    "funnel step: users who connected an integration in one month": """
        SELECT COUNT(DISTINCT user_id) FROM {events}
        WHERE application_id = %(app)s AND name = 'integration_connected'
          AND timestamp >= %(month)s AND timestamp < %(month_end)s""",
    "rollup refresh window: events by day and name, last 2 days": """
        SELECT (timestamp AT TIME ZONE 'UTC')::date, name, COUNT(*), COUNT(DISTINCT user_id) FROM {events}
        WHERE application_id = %(app)s AND timestamp >= %(since2)s GROUP BY 1, 2""",
    "one user's timeline": """
        SELECT name, timestamp FROM {events} WHERE user_id = %(user)s ORDER BY timestamp""",
    "whole history: events by month": """
        SELECT date_trunc('month', timestamp), COUNT(*) FROM {events} WHERE application_id = %(app)s GROUP BY 1""",
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("step", choices=("load", "queries", "consumers"))
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL)
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL)
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reuse-twin", action="store_true", help="queries: keep an existing partitioned copy")
    args = parser.parse_args()
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    if args.step == "load":
        results["load"] = load(args.database_url, args.users or 1_000_000, args.seed)
    elif args.step == "queries":
        results["queries"] = queries(args.database_url, args.repeat, reuse_twin=args.reuse_twin)
    else:
        results["consumers"] = consumers(args.database_url, args.redis_url, args.users or 20_000, args.seed)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, indent=2, default=str))
    markdown(results)


def environment(database_url: str, **extra: str) -> dict[str, str]:
    env = {**os.environ, "DATABASE_URL": database_url, "WAYLINE_LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    env.pop("REDIS_URL", None)
    env.update(extra)
    return env


def psql_admin(database_url: str):
    import psycopg

    parts = urlsplit(database_url)
    admin = parts._replace(path="/postgres").geturl()
    return psycopg.connect(admin, autocommit=True), parts.path.lstrip("/")


def load(database_url: str, users: int, seed: int) -> dict:
    connection, name = psql_admin(database_url)
    with connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')
    env = environment(database_url)
    subprocess.run([PYTHON, "manage.py", "migrate", "-v", "0", "--skip-checks"], cwd=ROOT, env=env, check=True)
    started = time.perf_counter()
    output = subprocess.run(
        [PYTHON, "manage.py", "simulate_scale", "--skip-checks", "--users", str(users), "--seed", str(seed),
         "--truth", str(ROOT / "var" / "truth-scale.json")],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    ).stdout
    report = json.loads(output)
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    return report


def queries(database_url: str, repeat: int, *, reuse_twin: bool = False) -> dict:
    import psycopg

    if not reuse_twin:
        subprocess.run([PYTHON, "-c", PARTITION_COPY], cwd=ROOT, env=environment(database_url), check=True)
    results: dict = {}
    with psycopg.connect(database_url, autocommit=True) as connection:
        for table in ("analytics_event", "analytics_event_partitioned"):
            connection.execute(f"VACUUM (ANALYZE) {table}")  # both with statistics and a visibility map
        app, until, user = connection.execute(
            "SELECT application_id, MAX(timestamp), MIN(user_id) FROM analytics_event GROUP BY 1 "
            "ORDER BY COUNT(*) DESC LIMIT 1"
        ).fetchone()
        month = connection.execute("SELECT date_trunc('month', %s::timestamptz - interval '1 month')", [until]).fetchone()[0]
        params = {
            "app": app, "until": until, "user": user, "since30": until - _days(30), "since7": until - _days(7),
            "since2": until - _days(2), "month": month,
            "month_end": connection.execute("SELECT %s::timestamptz + interval '1 month'", [month]).fetchone()[0],
        }
        for label, sql in QUERIES.items():
            timings: dict[str, list[float]] = {"analytics_event": [], "analytics_event_partitioned": []}
            for run in range(repeat + 1):  # alternate the tables; the first round warms the cache and is not counted
                for table in timings:
                    started = time.perf_counter()
                    connection.execute(sql.format(events=table), params).fetchall()
                    if run:
                        timings[table].append((time.perf_counter() - started) * 1000)
            results[label] = {table: round(statistics.median(values), 1) for table, values in timings.items()}
        results["_sizes"] = {
            table: connection.execute("SELECT pg_total_relation_size(%s)", [table]).fetchone()[0]
            for table in ("analytics_event",)
        }
        results["_sizes"]["analytics_event_partitioned"] = connection.execute(
            "SELECT SUM(pg_total_relation_size(c.oid)) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'analytics_event_partitioned'"
        ).fetchone()[0]
    return results


# Runs inside Django: copy the events into a partitioned twin built by the same DDL as the real switch.
PARTITION_COPY = """
import django, os, time
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
django.setup()
from analytics.partitioning import partitioned_twin_create
started = time.perf_counter()
partitioned_twin_create(name="analytics_event_partitioned")
print(f"partitioned copy in {time.perf_counter() - started:.1f} s")
"""


def consumers(database_url: str, redis_url: str, users: int, seed: int) -> dict:
    """Drain the same kind of backlog with 1 and 2 ``consume_events --once`` processes.

    Each drain is timed from starting the processes to the last one's exit, so it includes their
    start-up (Django, imports); the same processes draining an *empty* stream, right after, measure
    that start-up, and ``net`` figures subtract it. CPU is the consumers' own (user + sys). The
    users the backlog belongs to are deleted at the end, so the dataset stays what ``load`` made.
    """
    import resource

    results = {}
    env = environment(database_url, REDIS_URL=redis_url, WAYLINE_EVENT_STREAM="bench:scale:events")
    try:
        for workers in (1, 2):
            fill = subprocess.run(
                [PYTHON, "-c", STREAM_FILL, str(users), str(seed * 100 + workers)], cwd=ROOT, env=env, check=True,
                capture_output=True, text=True,
            ).stdout.split()
            events = int(fill[-1])
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            seconds = _drain(env, workers)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            startup = _drain(env, workers)  # the stream is empty now: start-up and exit only
            cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
            results[f"{workers} worker{'s' if workers > 1 else ''}"] = {
                "events": events, "seconds": round(seconds, 1), "startup_seconds": round(startup, 1),
                "events_per_s": round(events / seconds),
                "net_events_per_s": round(events / max(seconds - startup, 0.1)),
                "cpu_seconds": round(cpu, 1), "cpu_us_per_event": round(cpu / events * 1e6),
                "load_average": os.getloadavg()[0],
            }
    finally:
        subprocess.run([PYTHON, "-c", STREAM_USERS_DELETE], cwd=ROOT, env=env, check=True)
    return results


def _drain(env: dict, workers: int) -> float:
    started = time.perf_counter()
    processes = [
        subprocess.Popen([PYTHON, "manage.py", "consume_events", "--skip-checks", "--once", "--name",
                          f"bench-{workers}-{index}"], cwd=ROOT, env=env, stdout=subprocess.DEVNULL)
        for index in range(workers)
    ]
    for process in processes:
        if process.wait():
            raise RuntimeError(f"consume_events exited with {process.returncode}")
    return time.perf_counter() - started


# Runs inside Django: remove the users (and, by cascade, the events and derived rows) the consumers wrote.
STREAM_USERS_DELETE = """
import django, os
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
django.setup()
from analytics.models import Account, EndUser
users = EndUser.objects.filter(application__name="Chatterbox (scale)", external_id__startswith="stream")
print("deleted", users.delete()[0], "rows of the consumers' users,",
      Account.objects.filter(application__name="Chatterbox (scale)", external_id__startswith="stream").delete()[0],
      "accounts")
"""


# Runs inside Django: simulate fresh users of the scale application and append their events to the stream.
STREAM_FILL = """
import django, os, sys
from datetime import datetime, timedelta, timezone
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
django.setup()
from analytics.ingest.stream import events_append, redis_client, stream_name
from analytics.ingest.validation import validate_batch
from analytics.simulation.generator import Simulation, SimulationConfig
from analytics.simulation.loader import event_payloads, users_create
from onboarding.models import Application
users, seed = int(sys.argv[1]), int(sys.argv[2])
application = Application.objects.get(name="Chatterbox (scale)")
now = datetime.now(timezone.utc)
config = SimulationConfig(users=users, seed=seed, end=now, signup_days=25, enrol_days=0, id_prefix=f"stream{seed}")
simulation = Simulation(config)
redis_client().delete(stream_name())
total = 0
for population in simulation.populations():
    users_create(application_id=application.id, population=population)
    chunk = simulation.journeys(population)
    raw = event_payloads(simulation, chunk)
    for start in range(0, len(raw), 100):
        batch = validate_batch({"events": raw[start:start + 100]}, now=now, max_age=timedelta(days=30)).events
        events_append(application_id=application.id, events=batch, received_at=now)
        total += len(batch)
print(total)
"""


def _days(days: int):
    from datetime import timedelta

    return timedelta(days=days)


def markdown(results: dict) -> None:
    load = results.get("load")
    if load:
        sizes = load["sizes"]
        print(f"\nScale dataset: {load['users']:,} users, {load['accounts']:,} accounts, {load['events']:,} events, "
              f"loaded in {load['wall_seconds'] / 60:.1f} min; database {sizes['database'] / 2**30:.2f} GiB\n")
        print("| step | seconds |\n| --- | ---: |")
        for step, seconds in load["steps"].items():
            print(f"| {step} | {seconds} |")
        print("\n| table | total (MiB) | heap (MiB) |\n| --- | ---: | ---: |")
        for table, size in sizes.items():
            if isinstance(size, dict):
                print(f"| {table} | {size['total'] / 2**20:,.0f} | {size['heap'] / 2**20:,.0f} |")
    if results.get("queries"):
        print("\n| query | plain (ms) | partitioned by month (ms) |\n| --- | ---: | ---: |")
        for label, row in results["queries"].items():
            if not label.startswith("_"):
                print(f"| {label} | {row['analytics_event']:,} | {row['analytics_event_partitioned']:,} |")
    if results.get("consumers"):
        print("\n| consumers | events | seconds (start-up) | events/s | net of start-up | CPU µs/event |\n"
              "| --- | ---: | ---: | ---: | ---: | ---: |")
        for label, row in results["consumers"].items():
            print(f"| {label} | {row['events']:,} | {row['seconds']} ({row['startup_seconds']}) | "
                  f"{row['events_per_s']:,} | {row['net_events_per_s']:,} | {row['cpu_us_per_event']} |")


if __name__ == "__main__":
    sys.exit(main())
