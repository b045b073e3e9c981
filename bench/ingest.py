"""Benchmark of event ingest (POST /api/v1/events → Redis stream → consumer → PostgreSQL), end to end.

Recreates the PostgreSQL database ``wayline_bench_ingest``, migrates it, creates one application,
flushes Redis database 14, then serves Wayline with gunicorn (sync workers, bench routes on) and
runs ``manage.py consume_events`` beside it (``--consumers``, 2 by default: one consumer group). ``wrk`` drives concurrent clients posting batches of
20 events, every event with its own id. Each ingest round posts for ``--duration`` seconds and is
timed from the first request to the moment the last accepted row is committed in PostgreSQL; the
stored ids are then reconciled with the accepted ones (no loss, none twice).

Beside it, in the same run and alternating rounds so machine load hits both alike:
  (a) the ceiling: a bare DRF endpoint in the same gunicorn that only validates the same batch
      with a DRF serializer (``/api/v1/bench/validate-drf``), in events/s = requests/s × 20;
  (b) raw ``COPY`` of the same rows into a table shaped like ``analytics_event``, 1,000 per batch.
It also reports, for information, the ingest endpoint's own validation without storing (with and
without the rate-limit round trip) and the Redis-less direct write path (``--direct``).

    .venv/bin/python bench/ingest.py                       # 2 rounds of 15 s per endpoint
    .venv/bin/python bench/ingest.py --rounds 3 --duration 20 --direct

Needs PostgreSQL, Redis and ``wrk`` (``apt-get install -y wrk``). Never part of the test suite.
Prints a Markdown summary for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = str(ROOT / ".venv" / "bin" / "python")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/wayline_bench_ingest"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
STREAM = "bench:ingest:events"
EVENTS_PER_REQUEST = 20
USERS = 2000
GUIDE = {"id": 0}  # the published tour the $guide_* events name, set up in main()

LUA = r"""
-- Batches of 20 events with unique ids: <tag>-<thread>-4000-8000-<sequence>.
local key, path, tag, stamp = "%(key)s", "%(path)s", "%(tag)s", "%(stamp)s"
local users, guide = %(users)d, %(guide)d
-- A snippet's traffic: mostly page views and guide events; 3 of 10 are named by journey-stage rules.
local names = {"$pageview", "$pageview", "$pageview", "$pageview", "$guide_shown", "$guide_step_viewed",
               "message_sent", "report_viewed", "conversation_assigned", "widget_customized"}
local threads, started = {}, 0

function setup(thread)
  started = started + 1
  thread:set("tid", started)
  table.insert(threads, thread)
end

function init(args)
  sent, ok, bad, seq = 0, 0, 0, 0
  math.randomseed(tid * 7919)
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["X-Wayline-Key"] = key
end

local function batch()
  local parts = {}
  for i = 1, 20 do
    seq = seq + 1
    local user = math.random(users)
    parts[i] = string.format(
      '{"id":"%%s-%%04x-4000-8000-%%012x","name":"%%s","user_id":"bench-u-%%d","timestamp":"%%s",' ..
      '"properties":{"guide_id":%%d,"step":%%d,"source":"wrk"},"url":"https://app.bench.test/p/%%d","session_id":"s-%%d"}',
      tag, tid, seq, names[seq %% #names + 1], user, stamp, guide, i, user %% 40, user)
  end
  return '{"events":[' .. table.concat(parts, ",") .. ']}'
end

function request()
  sent = sent + 1
  return wrk.format("POST", path, nil, batch())
end

function response(status, headers, body)
  if status == 202 then ok = ok + 1 else bad = bad + 1 end
end

function done(summary, latency, requests)
  for _, thread in ipairs(threads) do
    io.write(string.format("THREAD sent=%%d ok=%%d bad=%%d\n", thread:get("sent"), thread:get("ok"), thread:get("bad")))
  end
end
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    parser.add_argument("--duration", type=int, default=15, help="seconds of wrk per endpoint and round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--port", type=int, default=8766)
    parser.add_argument("--consumers", type=int, default=2, help="manage.py consume_events processes")
    parser.add_argument("--copy-rows", type=int, default=100_000)
    parser.add_argument("--direct", action="store_true", help="also measure the Redis-less direct write path")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")

    env = server_environment(args.database_url, args.redis_url)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    database_recreate(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from onboarding.services import application_create

    application = application_create(name="Bench ingest", allowed_origins=["https://app.bench.test"])
    GUIDE["id"] = tour_create(application)
    redis_flush(args.redis_url)
    results: dict[str, list[dict]] = {"ceiling": [], "ingest": [], "plain": [], "plain_unthrottled": []}
    load_before = os.getloadavg()
    with gunicorn(env, port=args.port, workers=args.workers) as server, consumers(env, args.consumers) as drainers:
        base = f"http://127.0.0.1:{args.port}"
        key = application.publishable_key
        wait_until_up(base)
        meter = CpuMeter(server.pid, [drainer.pid for drainer in drainers], args.database_url, args.redis_url)
        warm = ingest_round(base, key, args, duration=3, meter=meter)  # caches, users, connections
        print(f"warm-up: {warm}", flush=True)
        for number in range(1, args.rounds + 1):
            for name, path in (("ceiling", "/api/v1/bench/validate-drf"), ("plain", "/api/v1/bench/validate-plain"),
                               ("plain_unthrottled", "/api/v1/bench/validate-plain-unthrottled")):
                before = meter.track()
                result = run_wrk(base, lua(key, path), args, duration=args.duration)
                result["cpu_s"] = meter.used_since(before)
                result["events_per_cpu_s"] = round(result["requests"] * EVENTS_PER_REQUEST / result["cpu_s"])
                results[name].append(result)
                print(f"round {number} {name}: {result}", flush=True)
            result = ingest_round(base, key, args, duration=args.duration, meter=meter)
            results["ingest"].append(result)
            print(f"round {number} ingest: {result}", flush=True)
    direct = None
    if args.direct:
        direct_env = {**env, "REDIS_URL": ""}
        with gunicorn(direct_env, port=args.port, workers=args.workers):
            wait_until_up(f"http://127.0.0.1:{args.port}")
            direct = run_wrk(f"http://127.0.0.1:{args.port}", lua(key, "/api/v1/events"), args,
                             duration=args.duration)
            print(f"direct write: {direct}", flush=True)
    copy = copy_reference(args.database_url, args.copy_rows)
    print(f"raw COPY: {copy}", flush=True)
    report(results, copy, direct, args, load_before, os.getloadavg())


# --- environment ------------------------------------------------------------------------------

def server_environment(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "wayline.settings",
        "WAYLINE_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WAYLINE_SSL_REDIRECT": "0",
        "WAYLINE_BENCH_ROUTES": "1",
        "WAYLINE_LOG_LEVEL": "WARNING",
        "WAYLINE_EVENT_STREAM": STREAM,
        # The limits stay on (their cost is part of every request) but high enough never to refuse.
        "WAYLINE_RATE_LIMITS": "publishable_key=1000000000/minute,client_ip=1000000000/minute",
    }


def database_recreate(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(database_url)
    name = parts.path.lstrip("/")
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or "bench" not in name:
        sys.exit(f"refusing to recreate database {name!r}: its name must contain 'bench'")
    with psycopg.connect(parts._replace(path="/postgres").geturl(), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def tour_create(application) -> int:
    from onboarding.models import Guide, TourStep
    from onboarding.services import guide_publish

    guide = Guide.objects.create(application=application, kind=Guide.Kind.TOUR, name="Welcome tour")
    TourStep.objects.create(guide=guide, order=1, selector="#start", title="Start here")
    guide_publish(guide=guide)
    return guide.id


def redis_flush(redis_url: str) -> None:
    import redis

    if not redis_url.rstrip("/").endswith("/14") and "bench" not in os.environ.get("BENCH_REDIS_OK", ""):
        sys.exit("refusing to flush a Redis database other than 14 (set BENCH_REDIS_OK=bench to insist)")
    redis.Redis.from_url(redis_url).flushdb()


@contextmanager
def gunicorn(env: dict, *, port: int, workers: int):
    command = [str(ROOT / ".venv" / "bin" / "gunicorn"), "wayline.wsgi", "-w", str(workers), "-k", "sync",
               "-b", f"127.0.0.1:{port}", "--backlog", "2048", "--timeout", "120", "--log-level", "warning"]
    process = subprocess.Popen(command, cwd=ROOT, env={**os.environ, **env})
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@contextmanager
def consumers(env: dict, count: int):
    processes = [
        subprocess.Popen(
            [PYTHON, "manage.py", "consume_events", "--block-ms", "100", "--name", f"bench-{number}"],
            cwd=ROOT, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
        )
        for number in range(count)
    ]
    try:
        yield processes
    finally:
        for process in processes:
            process.send_signal(signal.SIGTERM)
        for process in processes:
            process.wait(timeout=30)


def wait_until_up(base: str, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/api/v1/bench/noop", timeout=2) as response:
                if response.status == 204:
                    return
        except OSError:
            time.sleep(0.2)  # the workers are still importing
    sys.exit("gunicorn did not come up")


# --- rounds -----------------------------------------------------------------------------------

def lua(key: str, path: str, *, tag: str = "00000000") -> str:
    stamp = datetime.now(timezone.utc).replace(microsecond=0).isoformat()
    return LUA % {"key": key, "path": path, "tag": tag, "stamp": stamp, "users": USERS, "guide": GUIDE["id"]}


def run_wrk(base: str, script: str, args, *, duration: int) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{duration}s", "--timeout", "30s",
               "--latency", "-s", handle.name, base]
    started = time.monotonic()
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    elapsed = time.monotonic() - started
    os.unlink(handle.name)
    result = parse_wrk(output)
    result["events_per_s"] = round(result["rps"] * EVENTS_PER_REQUEST)
    result["requests"] = int(re.search(r"(\d+) requests in", output).group(1))
    result["wall_s"] = round(elapsed, 2)
    return result


def ingest_round(base: str, key: str, args, *, duration: int, meter: CpuMeter) -> dict:
    """Post for ``duration`` seconds; time from the first request to the last accepted row committed; reconcile.

    Every event of a 202 must end up stored; requests still unanswered when wrk stops may or may not be.
    """
    import psycopg

    tag = secrets.token_hex(4)
    with psycopg.connect(args.database_url, autocommit=True) as connection:
        meter.exclude = {connection.info.backend_pid}  # the polling below is not the system under test
        before = meter.track()
        started = time.monotonic()
        http = run_wrk(base, lua(key, "/api/v1/events", tag=tag), args, duration=duration)
        accepted_at = time.monotonic()
        stored, deadline = 0, accepted_at + 120
        accepted = http["ok"] * EVENTS_PER_REQUEST
        while time.monotonic() < deadline:
            stored = stored_count(connection, tag)
            if stored >= accepted:
                break
            time.sleep(0.05)  # polling the database from outside the system under test
        committed_at = time.monotonic()
        parts = meter.parts_since(before)
        cpu = round(sum(parts.values()), 2)
        distinct = connection.execute(
            "SELECT count(DISTINCT id) FROM analytics_event WHERE id >= %s::uuid AND id <= %s::uuid",
            uuid_range(tag),
        ).fetchone()[0]
    elapsed = committed_at - started
    return {
        "sent_events": http["sent"] * EVENTS_PER_REQUEST, "accepted_202": http["ok"], "refused": http["non_2xx"],
        # Every event of a 202 must be stored; a request that got no answer may or may not have been.
        "stored": stored, "distinct_stored": distinct, "lost": max(0, http["ok"] * EVENTS_PER_REQUEST - distinct),
        "http_rps": round(http["rps"]), "http_p50_ms": http["p50_ms"],
        "http_p99_ms": http["p99_ms"], "seconds_to_commit": round(elapsed, 2),
        "lag_after_last_response_s": round(committed_at - accepted_at, 2),
        "events_per_s": round(distinct / elapsed), "cpu_s": cpu, "events_per_cpu_s": round(distinct / cpu),
        "cpu_us_per_event": {part: round(seconds / distinct * 1e6) for part, seconds in parts.items()},
    }


class CpuMeter:
    """CPU seconds used by the system under test: gunicorn and its workers, the consumer, the PostgreSQL
    backends connected to the bench database, and Redis (process-wide). On a shared machine, events per
    CPU-second is the figure other processes disturb least."""

    TICK = os.sysconf("SC_CLK_TCK")

    def __init__(self, gunicorn_pid: int, consumer_pids: list[int], database_url: str, redis_url: str):
        import psycopg
        import redis

        self.gunicorn_pid, self.consumer_pids = gunicorn_pid, consumer_pids
        self.database = urlsplit(database_url).path.lstrip("/")
        self.admin = psycopg.connect(database_url, autocommit=True)
        self.redis_pid = int(redis.Redis.from_url(redis_url).info("server")["process_id"])
        self.exclude: set[int] = set()

    def pids(self) -> dict[int, str]:
        """pid -> component."""
        pids = {self.gunicorn_pid: "web", self.redis_pid: "redis", **{pid: "consumer" for pid in self.consumer_pids}}
        try:
            children = Path(f"/proc/{self.gunicorn_pid}/task/{self.gunicorn_pid}/children").read_text().split()
            pids.update({int(child): "web" for child in children})
        except OSError:
            pass
        backends = self.admin.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", [self.database]
        ).fetchall()
        pids.update({row[0]: "postgres" for row in backends})
        return {pid: part for pid, part in pids.items() if pid not in self.exclude}

    def sample(self) -> dict[int, tuple[str, float]]:
        times = {}
        for pid, part in self.pids().items():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            times[pid] = (part, (int(fields[11]) + int(fields[12])) / self.TICK)  # utime + stime
        return times

    def track(self) -> dict:
        """Start measuring: sample every 0.2 s in the background, so processes that exit meanwhile
        (a database connection closed after CONN_MAX_AGE) still count up to their last sample."""
        state = {"first": self.sample(), "last": {}, "stop": threading.Event()}
        state["last"].update(state["first"])

        def poll():
            while not state["stop"].wait(0.2):
                state["last"].update(self.sample())

        state["thread"] = threading.Thread(target=poll, daemon=True)
        state["thread"].start()
        return state

    def used_since(self, state: dict) -> float:
        return round(sum(self.parts_since(state).values()), 2)

    def parts_since(self, state: dict) -> dict[str, float]:
        state["stop"].set()
        state["thread"].join()
        state["last"].update(self.sample())
        parts: dict[str, float] = {}
        for pid, (part, seconds) in state["last"].items():
            parts[part] = parts.get(part, 0.0) + seconds - state["first"].get(pid, (part, 0.0))[1]
        return {part: round(seconds, 2) for part, seconds in sorted(parts.items())}


def uuid_range(tag: str) -> tuple[str, str]:
    return f"{tag}-0000-0000-0000-000000000000", f"{tag}-ffff-ffff-ffff-ffffffffffff"


def stored_count(connection, tag: str) -> int:
    return connection.execute(
        "SELECT count(*) FROM analytics_event WHERE id >= %s::uuid AND id <= %s::uuid", uuid_range(tag)
    ).fetchone()[0]


def parse_wrk(output: str) -> dict:
    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
        return round(float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit], 2)

    percentiles = {p: ms(v) for p, v in re.findall(r"^\s+(50|99)%\s+(\S+)", output, re.M)}
    threads = [tuple(map(int, match)) for match in re.findall(r"THREAD sent=(\d+) ok=(\d+) bad=(\d+)", output)]
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "p50_ms": percentiles.get("50"),
        "p99_ms": percentiles.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "sent": sum(t[0] for t in threads), "ok": sum(t[1] for t in threads), "bad": sum(t[2] for t in threads),
    }


def copy_reference(database_url: str, rows: int) -> dict:
    """Raw COPY of rows shaped like the benchmark's events into a table like analytics_event, 1,000 per commit."""
    import uuid

    import psycopg

    now = datetime.now(timezone.utc)
    with psycopg.connect(database_url) as connection:
        connection.execute("DROP TABLE IF EXISTS bench_copy_target")
        connection.execute("CREATE TABLE bench_copy_target (LIKE analytics_event INCLUDING ALL)")
        user_id = connection.execute("SELECT min(id) FROM analytics_enduser").fetchone()[0]
        application_id = connection.execute("SELECT min(id) FROM onboarding_application").fetchone()[0]
        connection.commit()
        data = [
            (uuid.uuid4(), application_id, user_id, "report_viewed", now, now, False,
             '{"plan":"pro","step":%d,"source":"wrk"}' % (i % 20), f"https://app.bench.test/p/{i % 40}", f"s-{i % 2000}")
            for i in range(rows)
        ]
        columns = "id, application_id, user_id, name, timestamp, received_at, timestamp_clamped, properties, url, session_id"
        started = time.monotonic()
        with connection.cursor() as cursor:
            for offset in range(0, rows, 1000):
                with cursor.copy(f"COPY bench_copy_target ({columns}) FROM STDIN") as copy:
                    for row in data[offset:offset + 1000]:
                        copy.write_row(row)
                connection.commit()
        elapsed = time.monotonic() - started
        connection.execute("DROP TABLE bench_copy_target")
        connection.commit()
    return {"rows": rows, "seconds": round(elapsed, 2), "rows_per_s": round(rows / elapsed)}


# --- report -----------------------------------------------------------------------------------

def report(results: dict, copy: dict, direct: dict | None, args, load_before, load_after) -> None:
    def median(name: str, field: str = "events_per_s") -> float:
        return statistics.median(result[field] for result in results[name])

    ceiling, ingest = median("ceiling"), median("ingest")
    ceiling_cpu, ingest_cpu = median("ceiling", "events_per_cpu_s"), median("ingest", "events_per_cpu_s")
    lost = sum(result["lost"] for result in results["ingest"])
    refused = sum(result["refused"] for result in results["ingest"])
    print("\n## Ingest benchmark\n")
    print(f"`{' '.join(['.venv/bin/python', 'bench/ingest.py', *sys.argv[1:]])}` — gunicorn {args.workers} sync "
          f"workers, wrk {args.threads} threads / {args.connections} connections, 20 events per request, "
          f"{args.consumers} consumer(s), {args.rounds} rounds (medians), {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before / "
          f"{load_after[0]:.1f} after.\n")
    print("| Measure | events/s | ratio to (a) | events per CPU-second | ratio to (a) |")
    print("| --- | ---: | ---: | ---: | ---: |")
    print(f"| (a) ceiling: bare DRF view, DRF serializer validation only ({median('ceiling', 'rps'):,.0f} req/s) "
          f"| {ceiling:,.0f} | 1.00 | {ceiling_cpu:,.0f} | 1.00 |")
    print(f"| **ingest end to end**: 202 → stream → consumer → committed ({median('ingest', 'http_rps'):,.0f} req/s "
          f"accepted) | {ingest:,.0f} | **{ingest / ceiling:.2f}** | {ingest_cpu:,.0f} | **{ingest_cpu / ceiling_cpu:.2f}** |")
    for name, label in (("plain", "ingest view, validation only (auth, rate limit, plain Python)"),
                        ("plain_unthrottled", "the same without the rate-limit round trip")):
        print(f"| {label} ({median(name, 'rps'):,.0f} req/s) | {median(name):,.0f} | {median(name) / ceiling:.2f} | "
              f"{median(name, 'events_per_cpu_s'):,.0f} | {median(name, 'events_per_cpu_s') / ceiling_cpu:.2f} |")
    if direct:
        print(f"| direct write, no Redis: COPY + derived state inside the request ({direct['rps']:,.0f} req/s) | "
              f"{direct['events_per_s']:,.0f} | {direct['events_per_s'] / ceiling:.2f} | – | – |")
    print(f"| (b) raw COPY of the same rows, 1,000 per commit | {copy['rows_per_s']:,.0f} | "
          f"ingest = {ingest / copy['rows_per_s']:.2f} of (b) | – | – |")
    parts = {part: statistics.median(r["cpu_us_per_event"].get(part, 0) for r in results["ingest"])
             for part in ("web", "consumer", "postgres", "redis")}
    print("\nIngest CPU per stored event (µs, medians): "
          + ", ".join(f"{part} {value:,.0f}" for part, value in parts.items())
          + f"; the ceiling's web workers: {1e6 / ceiling_cpu:,.0f}.")
    accepted = sum(r["accepted_202"] for r in results["ingest"]) * EVENTS_PER_REQUEST
    print(f"\nReconciliation: {sum(r['sent_events'] for r in results['ingest']):,} events sent in the ingest rounds, "
          f"{accepted:,} accepted (202), {sum(r['distinct_stored'] for r in results['ingest']):,} distinct ids stored, "
          f"{lost} accepted but not stored, {refused} requests refused. "
          f"Target ≥ 0.60 of (a) in events/s: {'met' if ingest >= 0.6 * ceiling else 'NOT met'}.")


if __name__ == "__main__":
    main()
