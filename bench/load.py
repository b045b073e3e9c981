"""Load: simulated snippet clients against Wayline on its own PostgreSQL and Redis, then a reconciliation.

Starts a private PostgreSQL cluster and Redis (``bench/_services.py``), migrates, creates one
application with a published tour, and serves it with gunicorn (sync workers), ``--consumers``
``manage.py consume_events`` processes and a Celery worker with beat. Then ``--clients`` simulated
snippet clients (``bench/_clients.py``: asyncio on loopback) each do content → identify →
rounds of content + a batch of events for ``--duration`` seconds, resending some accepted batches
and repeating some events inside a batch, and retry whatever failed until it is answered.

Reported: requests/s held, p50/p99 per endpoint, the error rate, and the reconciliation — every
event id a client created is stored exactly once (none lost, none twice) and the per-user daily
counters derived from them count each event once.

    .venv/bin/python bench/load.py                          # 200 clients for 60 s
    .venv/bin/python bench/load.py --clients 50 --duration 10

Needs redis-server and PostgreSQL's initdb/pg_ctl (the newest ``/usr/lib/postgresql/*/bin``, or
``WAYLINE_PG_BIN``); runs them as the ``postgres`` user when started as root. Never touches the
shared database or Redis. Prints Markdown; ``--json`` also writes the figures to a file.
"""
from __future__ import annotations

import argparse
import asyncio
import concurrent.futures
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._clients import ClientPlan, ClientProcesses, Ledger, bare_run, clients_run  # noqa: E402
from bench._services import Stack, stack_directory  # noqa: E402

ENDPOINTS = ("identify", "content", "events")


@dataclass
class Reconciliation:
    generated: int  # distinct event ids the clients created
    accepted: int  # of those, in a batch answered 2xx
    refused: int  # in a batch answered with a permanent 4xx (never retried)
    resent: int  # events sent again after their batch was accepted, plus repeats inside a batch
    stored: int  # distinct generated ids in analytics_event
    lost: int  # generated, not refused, and not stored
    duplicated: int  # rows beyond one per id, plus daily-counter increments beyond the events stored
    counters_missing: int  # events stored that no per-user daily counter counts
    unexpected: int  # rows of the application with an id no client created

    @property
    def clean(self) -> bool:
        return not (self.lost or self.duplicated or self.counters_missing or self.unexpected or self.refused)


@dataclass
class LoadResult:
    clients: int
    seconds: float  # wall time of the clients, retries included
    requests: int
    ok_rps: float  # requests answered 2xx per second
    error_rate: float  # share of requests answered non-2xx or not at all
    endpoints: dict = field(default_factory=dict)  # name -> requests, errors, p50_ms, p99_ms, outage_s
    settle_s: float | None = None  # after the clients stopped, until every event was stored (None: never)
    reconciliation: Reconciliation | None = None


def load_run(stack: Stack, application: dict, *, clients: int, duration: float, drain: float = 60.0,
             settle_timeout: float = 120.0, during=None, seed: int = 1, processes: int = 1):
    """Drive the clients, in ``processes`` processes (with ``during(ledger)``, a coroutine, run beside them);
    settle; reconcile. Returns ``(LoadResult, whatever during returned)``.
    """
    ledger = Ledger()
    plan = ClientPlan(base_url=stack.base_url, key=application["key"], clients=clients, duration=duration,
                      drain=drain, guide_id=application["guide"], seed=seed)
    forked = ClientProcesses(clients_run, plan, processes) if processes > 1 else None

    async def main():
        load = forked.collect(ledger) if forked else clients_run(plan, ledger)
        return await asyncio.gather(load, *([during(ledger)] if during else []))

    started = time.monotonic()
    outcome = run_async(main())
    seconds = time.monotonic() - started
    settle_s = wait_until_stored(stack.postgres.url, ledger.generated - ledger.refused, timeout=settle_timeout)
    result = summary(ledger, clients=clients, seconds=seconds)
    result.settle_s = settle_s
    result.reconciliation = reconcile(stack.postgres.url, application["id"], ledger)
    return result, (outcome[1] if during else None)


def run_async(coroutine):
    """``asyncio.run`` in a thread of its own: the caller may be inside a running event loop already
    (a test session whose browser tests drive Playwright's sync API from the main thread)."""
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="load-clients") as pool:
        return pool.submit(asyncio.run, coroutine).result()


def reference_run(stack: Stack, *, clients: int, duration: float, processes: int = 1) -> float:
    """Requests/s the same clients get from a bare DRF endpoint in the same gunicorn, measured now."""
    ledger = Ledger()
    plan = ClientPlan(base_url=stack.base_url, key="", clients=clients, duration=duration)
    forked = ClientProcesses(bare_run, plan, processes) if processes > 1 else None
    started = time.monotonic()
    run_async(forked.collect(ledger) if forked else bare_run(plan, ledger))
    ok = sum(n for status, n in ledger.statuses["bare"].items() if status == 200)
    return ok / (time.monotonic() - started)


def stored_count(connection, ids) -> int:
    return connection.execute("SELECT count(*) FROM analytics_event WHERE id = ANY(%s::uuid[])", [list(ids)]).fetchone()[0]


def wait_until_stored(database_url: str, ids: set[str], *, timeout: float) -> float | None:
    """Seconds until every id in ``ids`` is stored, polling PostgreSQL; ``None`` if the deadline passes first."""
    import psycopg

    started = time.monotonic()
    ids = set(ids)
    while True:
        try:
            with psycopg.connect(database_url, autocommit=True, connect_timeout=2) as connection:
                while True:
                    if stored_count(connection, ids) >= len(ids):
                        return round(time.monotonic() - started, 2)
                    if time.monotonic() - started > timeout:
                        return None
                    time.sleep(0.1)  # the interval between polls
        except psycopg.OperationalError:  # PostgreSQL is being restarted: poll again
            if time.monotonic() - started > timeout:
                return None
            time.sleep(0.1)


RECONCILE_SQL = """
WITH stored AS (SELECT id, user_id, name, (timestamp AT TIME ZONE 'UTC')::date AS day
                FROM analytics_event WHERE application_id = %(app)s),
     counted AS (SELECT user_id, name, day, count(*) AS n FROM stored GROUP BY 1, 2, 3),
     daily AS (SELECT d.user_id, d.name, d.day, d.count AS n FROM analytics_usereventdaily d
               JOIN analytics_enduser u ON u.id = d.user_id WHERE u.application_id = %(app)s)
SELECT (SELECT count(*) - count(DISTINCT id) FROM stored),
       (SELECT count(*) FROM stored WHERE id = ANY(%(ids)s::uuid[])),
       (SELECT count(*) FROM stored WHERE NOT id = ANY(%(ids)s::uuid[])),
       (SELECT coalesce(sum(greatest(coalesce(daily.n, 0) - coalesce(counted.n, 0), 0)), 0)
          FROM counted FULL JOIN daily USING (user_id, name, day)),
       (SELECT coalesce(sum(greatest(coalesce(counted.n, 0) - coalesce(daily.n, 0), 0)), 0)
          FROM counted FULL JOIN daily USING (user_id, name, day))
"""


def reconcile(database_url: str, application_id: int, ledger: Ledger) -> Reconciliation:
    """Compare what the clients created with what the application's tables hold."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as connection:
        extra_rows, stored, unexpected, over, under = connection.execute(
            RECONCILE_SQL, {"app": application_id, "ids": list(ledger.generated)}
        ).fetchone()
    return Reconciliation(
        generated=len(ledger.generated), accepted=len(ledger.acked), refused=len(ledger.refused),
        resent=ledger.resent, stored=stored, lost=len(ledger.generated - ledger.refused) - stored,
        duplicated=int(extra_rows + over), counters_missing=int(under), unexpected=unexpected,
    )


def summary(ledger: Ledger, *, clients: int, seconds: float) -> LoadResult:
    endpoints = {}
    total = ok = 0
    for name in ENDPOINTS:
        statuses = ledger.statuses[name]
        count = sum(statuses.values())
        good = sum(n for status, n in statuses.items() if 200 <= status < 300)
        latencies = sorted(ledger.latencies[name])
        endpoints[name] = {
            "requests": count, "errors": count - good,
            "statuses": {str(status): n for status, n in sorted(statuses.items())},
            "p50_ms": percentile(latencies, 50), "p99_ms": percentile(latencies, 99),
            "outage_s": round(ledger.outages.get(name, 0.0), 2),
        }
        total, ok = total + count, ok + good
    return LoadResult(clients=clients, seconds=round(seconds, 2), requests=total, ok_rps=round(ok / seconds, 1),
                      error_rate=round((total - ok) / total, 4) if total else 0.0, endpoints=endpoints)


def percentile(values: list[float], p: float) -> float | None:
    if not values:
        return None
    index = min(len(values) - 1, max(0, round(p / 100 * len(values) + 0.5) - 1))  # nearest rank
    return round(values[index] * 1000, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of new events")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--client-processes", type=int, default=2, help="processes the clients are spread over")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the stack's directory (data, logs) and print it")
    args = parser.parse_args()
    load_before = os.getloadavg()
    with Stack(stack_directory(), workers=args.workers, consumers=args.consumers, keep=args.keep) as stack:
        if args.keep:
            print(f"stack directory: {stack.directory}", file=sys.stderr)
        application = stack.applications["Load"]
        # Each worker's first requests import the views: a few seconds of traffic before anything is measured.
        reference_run(stack, clients=args.clients, duration=5.0, processes=args.client_processes)
        reference = reference_run(stack, clients=args.clients, duration=min(10.0, args.duration),
                                  processes=args.client_processes)
        result, _ = load_run(stack, application, clients=args.clients, duration=args.duration,
                             processes=args.client_processes)
    load_after = os.getloadavg()
    print(report(result, args, load_before, load_after, reference))
    if args.json:
        args.json.write_text(json.dumps(asdict(result), indent=2))
    sys.exit(0 if result.reconciliation.clean else 1)


def report(result: LoadResult, args, load_before, load_after, reference: float) -> str:
    r = result.reconciliation
    lines = [
        "## Load\n",
        f"`.venv/bin/python bench/load.py {' '.join(sys.argv[1:])}`".replace(" `", "`") + f" — {result.clients} clients "
        f"({args.client_processes} processes) for {args.duration:.0f} s, gunicorn {args.workers} sync workers, {args.consumers} consumers, 1 Celery "
        f"worker; {os.cpu_count()} CPUs, load average {load_before[0]:.1f} before / {load_after[0]:.1f} after.\n",
        f"Held {result.ok_rps:,.0f} requests/s answered 2xx ({result.requests:,} requests in {result.seconds:.0f} s), "
        f"error rate {result.error_rate:.2%}; **{result.ok_rps / reference:.2f}** of the reference measured just "
        f"before by the same clients on a bare DRF endpoint in the same gunicorn ({reference:,.0f} req/s).\n",
        "| Endpoint | requests | errors | p50 ms | p99 ms |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for name, e in result.endpoints.items():
        lines.append(f"| {name} | {e['requests']:,} | {e['errors']:,} | {e['p50_ms']} | {e['p99_ms']} |")
    lines.append(
        f"\nReconciliation: {r.generated:,} unique event ids sent, {r.accepted:,} accepted, {r.stored:,} stored "
        f"({r.resent:,} resent or repeated); lost {r.lost}, duplicated {r.duplicated}, counters missing "
        f"{r.counters_missing}, refused {r.refused}, unexpected rows {r.unexpected}; everything stored "
        f"{result.settle_s} s after the clients stopped."
    )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
