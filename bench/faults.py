"""Faults during load: each scenario breaks one part of Wayline while snippet clients keep sending, then reconciles.

One private stack (``bench/_services.py``: PostgreSQL, Redis, gunicorn, consumers under a
supervisor, a Celery worker with beat) serves every scenario; each scenario has an application of
its own, so its reconciliation counts only its events. A scenario runs ``bench/load.py``'s
clients and, once the load is going, injects its fault:

    redis        redis-server SIGKILLed and started again on the same append-only file
    consumer     an ingest consumer SIGKILLed while it holds entries it read but has not acknowledged
                 (mid-batch); the supervisor starts it again, as systemd's Restart=always would
    postgres     PostgreSQL stopped in immediate mode (a crash: recovery on start) and started again
    web-worker   a gunicorn worker SIGKILLed; the gunicorn master starts a new one

Then it measures, from the moment the fault began: *answering* — until identify, content and
events all answer 2xx in one probe pass; *recovered* — until every event accepted by then is
stored. After the clients have sent everything, the same reconciliation as ``bench/load.py``:
every event id a client created stored once, none twice, counters counting each event once.

    .venv/bin/python bench/faults.py                                  # the full run in docs/reliability.md
    .venv/bin/python bench/faults.py --clients 20 --duration 6 redis  # one scenario, short

Prints Markdown rows for docs/reliability.md; ``--json`` also writes the figures to a file.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._clients import Http  # noqa: E402
from bench._services import STREAM, ServiceError, Stack, stack_directory, wait_for  # noqa: E402
from bench.load import LoadResult, load_run, reference_run, wait_until_stored  # noqa: E402

GROUP = "wayline-ingest"


@dataclass
class FaultReport:
    scenario: str
    detail: str  # what exactly was done
    injected_at_s: float  # seconds into the load
    fault_s: float  # how long the injection itself took (e.g. stop + start)
    healthy_pass_s: float | None  # one probe pass just before the fault: what "answering" takes without one
    answering_s: float | None  # fault start → identify, content and events all 2xx again
    recovered_s: float | None  # fault start → every event accepted by then stored
    restarts: int  # processes the supervisor or gunicorn started again


def inject_redis(stack: Stack) -> str:
    stack.redis.restart()
    return "redis-server SIGKILLed, started again on its append-only file"


def inject_consumer(stack: Stack) -> str:
    """SIGKILL a consumer while it holds entries it read but has not acknowledged: in the middle of a batch."""
    import redis

    client = redis.Redis.from_url(stack.redis.url)

    def busy_consumer():
        for consumer in client.xpending(STREAM, GROUP).get("consumers") or ():
            if consumer["pending"]:
                return consumer["name"].decode(), consumer["pending"]
        return None

    name, pending = wait_for(busy_consumer, timeout=60, what="a consumer holding unacknowledged entries", interval=0.002)
    drainer = next(d for d in stack.drainers if d.command[d.command.index("--name") + 1] == name)
    drainer.kill()
    return f"consumer {name} SIGKILLed holding {pending} unacknowledged stream entries; restarted by its supervisor"


def inject_postgres(stack: Stack) -> str:
    stack.postgres.restart("immediate")
    return "PostgreSQL stopped in immediate mode (crash recovery on start), started again"


def inject_web_worker(stack: Stack) -> str:
    """SIGKILL a gunicorn worker, one running on a CPU (so inside a request) if one is seen within 2 s."""
    workers = wait_for(stack.gunicorn_workers, timeout=30, what="gunicorn workers")
    try:
        victim, busy = wait_for(lambda: _running(stack.gunicorn_workers()), timeout=2, what="a busy worker",
                                interval=0.001), True
    except ServiceError:
        victim, busy = workers[0], False
    os.kill(victim, signal.SIGKILL)
    return (f"one of {len(workers)} gunicorn sync workers SIGKILLed{' while running a request' if busy else ''}; "
            "the master starts a new one")


def _running(pids: list[int]) -> int | None:
    for pid in pids:
        try:
            if Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "R":
                return pid
        except OSError:
            continue
    return None


SCENARIOS = {
    "redis": ("Redis restarted", inject_redis),
    "consumer": ("Ingest consumer SIGKILLed mid-batch", inject_consumer),
    "postgres": ("PostgreSQL restarted", inject_postgres),
    "web-worker": ("Web worker killed", inject_web_worker),
}


def fault_run(stack: Stack, application: dict, scenario: str, *, clients: int, duration: float,
              inject_at: float, recover_timeout: float = 180.0, processes: int = 1) -> tuple[LoadResult, FaultReport]:
    """Load ``application`` for ``duration`` s and inject ``scenario`` ``inject_at`` s in; reconcile."""
    _, inject = SCENARIOS[scenario]
    restarts_before, workers_before = _restarts(stack), set(stack.gunicorn_workers())

    async def during(ledger):
        started = time.monotonic()
        while time.monotonic() < started + inject_at or not ledger.acked:
            await asyncio.sleep(0.05)  # the load runs until the moment chosen for the fault
        probe_started = time.monotonic()
        healthy = await probe_until_answering(stack, application, ledger, timeout=recover_timeout)
        fault_started = time.monotonic()
        detail = await asyncio.to_thread(inject, stack)
        fault_s = time.monotonic() - fault_started
        answering = await probe_until_answering(stack, application, ledger, timeout=recover_timeout)
        accepted = set(ledger.acked)
        stored_s = await asyncio.to_thread(wait_until_stored, stack.postgres.url, accepted, timeout=recover_timeout)
        return FaultReport(
            scenario=scenario, detail=detail, injected_at_s=round(fault_started - started, 2), fault_s=round(fault_s, 2),
            healthy_pass_s=None if healthy is None else round(healthy - probe_started, 2),
            answering_s=None if answering is None else round(answering - fault_started, 2),
            recovered_s=None if stored_s is None else round(time.monotonic() - fault_started, 2),
            restarts=0,
        )

    result, report = load_run(stack, application, clients=clients, duration=duration, during=during,
                              settle_timeout=recover_timeout, processes=processes)
    new_workers = set(stack.gunicorn_workers()) - workers_before
    report.restarts = _restarts(stack) - restarts_before + len(new_workers)
    return result, report


def _restarts(stack: Stack) -> int:
    """How many times the supervisor started a consumer or the Celery worker again."""
    return sum(process.restarts for process in [*stack.drainers, stack.celery])


async def probe_until_answering(stack: Stack, application: dict, ledger, *, timeout: float) -> float | None:
    """Identify, content and one event, every 0.1 s, until all three answer 2xx in one pass; return that moment.

    The probe's event is one more client event: added to the ledger and resent until accepted.
    """
    user = f"probe-{uuid.uuid4().hex[:8]}"
    event = None
    deadline = time.monotonic() + timeout
    http = Http(stack.base_url, headers={"X-Wayline-Key": application["key"]}, timeout=5.0)
    while time.monotonic() < deadline:
        if event is None:
            event = {"id": str(uuid.uuid4()), "name": "$pageview", "user_id": user,
                     "timestamp": datetime.now(timezone.utc).isoformat(), "url": "https://app.load.test/"}
            ledger.generated.add(event["id"])
        statuses = [
            await http.request("POST", "/api/v1/identify", json_body={"user_id": user}),
            await http.request("GET", "/api/v1/content", params={"user_id": user, "url": "https://app.load.test/"}),
            await http.request("POST", "/api/v1/events", json_body={"events": [event]}),
        ]
        if 200 <= statuses[2] < 300:
            ledger.acked.add(event["id"])
            event = None
        if all(200 <= status < 300 for status in statuses):
            return time.monotonic()
        await asyncio.sleep(0.1)  # the probe's cadence
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenarios", nargs="*", default=["load", *SCENARIOS], help="load and/or " + ", ".join(SCENARIOS))
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of new events per scenario")
    parser.add_argument("--inject-at", type=float, default=None, help="seconds into the load (default a third)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--consumers", type=int, default=2)
    parser.add_argument("--client-processes", type=int, default=2, help="processes the clients are spread over")
    parser.add_argument("--claim-idle-ms", type=int, default=60_000, help="the consumers' --claim-idle-ms")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--keep", action="store_true", help="keep the stack's directory (data, logs) and print it")
    args = parser.parse_args()
    unknown = set(args.scenarios) - {"load", *SCENARIOS}
    if unknown:
        parser.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    inject_at = args.duration / 3 if args.inject_at is None else args.inject_at
    load_before, rows = os.getloadavg(), []
    with Stack(stack_directory(), workers=args.workers, consumers=args.consumers, claim_idle_ms=args.claim_idle_ms,
               application_names=args.scenarios, keep=args.keep) as stack:
        if args.keep:
            print(f"stack directory: {stack.directory}", file=sys.stderr)
        # Each worker's first requests import the views: a few seconds of traffic before anything is measured.
        reference_run(stack, clients=args.clients, duration=5.0, processes=args.client_processes)
        reference = reference_run(stack, clients=args.clients, duration=min(10.0, args.duration),
                                  processes=args.client_processes)
        print(f"reference: {reference:.1f} req/s from /api/v1/bench/bare", file=sys.stderr, flush=True)
        for scenario in args.scenarios:
            application = stack.applications[scenario]
            if scenario == "load":
                result, fault = load_run(stack, application, clients=args.clients, duration=args.duration,
                                         processes=args.client_processes)[0], None
            else:
                result, fault = fault_run(stack, application, scenario, clients=args.clients, duration=args.duration,
                                          inject_at=inject_at, processes=args.client_processes)
            rows.append((scenario, result, fault))
            print(f"{scenario}: {json.dumps({'load': asdict(result), 'fault': fault and asdict(fault)})}",
                  file=sys.stderr, flush=True)
    load_after = os.getloadavg()
    print(table(rows, args, load_before, load_after, reference))
    if args.json:
        args.json.write_text(json.dumps([{"scenario": s, "load": asdict(r), "fault": f and asdict(f)}
                                         for s, r, f in rows], indent=2))
    sys.exit(0 if all(result.reconciliation.clean for _, result, _ in rows) else 1)


def table(rows, args, load_before, load_after, reference: float) -> str:
    lines = [
        f"`.venv/bin/python bench/faults.py {' '.join(sys.argv[1:])}`".replace(" `", "`")
        + f" — {args.clients} clients ({args.client_processes} processes) × {args.duration:.0f} s per scenario, gunicorn {args.workers} sync workers, "
        f"{args.consumers} consumers (claim idle {args.claim_idle_ms / 1000:.0f} s), 1 Celery worker with beat; "
        f"{os.cpu_count()} CPUs, load average {load_before[0]:.1f} before / {load_after[0]:.1f} after. Reference in "
        f"the same run: the same clients asking a bare DRF endpoint as fast as it answers held {reference:,.0f} "
        "req/s; *load held* gives each scenario's 2xx requests/s as a ratio to it.\n",
        "| scenario | what was done | load held | faults injected | inputs tried | lost | duplicated | recovered in |",
        "| --- | --- | --- | --- | --- | ---: | ---: | --- |",
    ]
    for scenario, result, fault in rows:
        r = result.reconciliation
        e = result.endpoints
        what = (f"{args.clients} snippet clients: identify → content → event batches, accepted batches resent at "
                f"random; retries like the snippet")
        held = (f"{result.ok_rps:,.0f} req/s 2xx ({result.ok_rps / reference:.2f} of the reference); p50/p99 ms: events {e['events']['p50_ms']}/{e['events']['p99_ms']}, "
                f"content {e['content']['p50_ms']}/{e['content']['p99_ms']}; errors {result.error_rate:.1%}")
        inputs = f"{r.generated:,} event ids ({r.resent:,} resent) in {result.requests:,} requests"
        if fault is None:
            name, injected, recovered = "Load", "none", f"– (stored {result.settle_s} s after the last send)"
        else:
            name, injected = SCENARIOS[scenario][0], f"{fault.detail}, {fault.injected_at_s:.0f} s in"
            recovered = (f"answering {_seconds(fault.answering_s)} (a healthy probe pass: "
                         f"{_seconds(fault.healthy_pass_s)}), all accepted stored {_seconds(fault.recovered_s)}")
        lost = r.lost + r.refused
        duplicated = r.duplicated + r.unexpected
        lines.append(f"| {name} | {what} | {held} | {injected} | {inputs} | {lost} | {duplicated} | {recovered} |")
    return "\n".join(lines)


def _seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.1f} s"


if __name__ == "__main__":
    main()
