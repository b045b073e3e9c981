"""Simulated snippet clients for ``bench/load.py`` and ``bench/faults.py``: asyncio on loopback.

Each client behaves like the snippet in one browser tab: content for the anonymous visitor,
identify, then rounds of content → a batch of events, with a think time between requests. Like
the snippet's queue (``frontend_snippet/src/queue.ts``) it keeps every event until a 2xx or a
permanent 4xx answers it, and resends on a network error, 408, 429 or 5xx after a backoff — so
an event that was never stored although its client got a 202, or kept retrying it to the end, is
*lost*. On top, a client sometimes resends a batch that was already accepted (the reply went
missing) and sometimes repeats an event inside one batch: those must never be stored twice.

The ledger counts per endpoint: latencies (every answered request), statuses, network errors.

HTTP is spoken by ``Http``, a few lines over asyncio streams, not httpx: against gunicorn's sync
workers (a new connection per request) httpx's ``AsyncClient`` with 8 concurrent clients managed
about a fifth of the requests/s plain asyncio streams did on this machine — the driver, not
Wayline, would have been measured.
"""
from __future__ import annotations

import asyncio
import json
import multiprocessing
import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from urllib.parse import urlencode, urlsplit


PAGES = [f"https://app.load.test/{path}" for path in ("", "inbox", "reports", "settings", "settings/team", "help")]
PRODUCT_EVENTS = ["message_sent", "report_viewed", "conversation_assigned", "widget_customized"]
RETRYABLE = {0, 408, 429} | set(range(500, 600))
BACKOFF_BASE = 0.1  # seconds; the snippet starts at 1 s — compressed so a short run sees the retries through
BACKOFF_MAX = 2.0


class Http:
    """HTTP/1.1 over asyncio streams, one connection per request (gunicorn's sync workers close each anyway)."""

    def __init__(self, base_url: str, *, headers: dict[str, str] | None = None, timeout: float = 10.0):
        parts = urlsplit(base_url)
        self.host, self.port, self.timeout = parts.hostname, parts.port or 80, timeout
        self.headers = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())

    async def request(self, method: str, path: str, *, params: dict | None = None, json_body=None) -> int:
        """The response's status; 0 when the connection failed, was reset or timed out."""
        target = path + ("?" + urlencode(params) if params else "")
        body = b"" if json_body is None else json.dumps(json_body).encode()
        typed = f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n" if json_body is not None else ""
        head = (f"{method} {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\nConnection: close\r\n"
                f"{self.headers}{typed}\r\n").encode()
        writer = None
        try:
            async with asyncio.timeout(self.timeout):
                reader, writer = await asyncio.open_connection(self.host, self.port)
                writer.write(head + body)
                await writer.drain()
                status_line = await reader.readline()
                await reader.read()  # the rest, until the server closes the connection
            return int(status_line.split()[1])
        except (OSError, TimeoutError, ValueError, IndexError):
            return 0
        finally:
            if writer is not None:
                writer.close()


@dataclass
class Ledger:
    """What the clients sent and what they were told."""

    generated: set[str] = field(default_factory=set)  # every event id a client created
    acked: set[str] = field(default_factory=set)  # ids in a batch answered 2xx
    refused: set[str] = field(default_factory=set)  # ids in a batch answered with a permanent 4xx
    resent: int = 0  # events sent again after their batch had been accepted, or twice in one batch
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    answered_at: dict[str, float] = field(default_factory=dict)  # endpoint -> monotonic time of the last 2xx
    failing_since: dict[str, float] = field(default_factory=dict)  # endpoint -> first failure of the current run
    outages: dict[str, float] = field(default_factory=lambda: defaultdict(float))  # longest failing stretch

    def record(self, endpoint: str, status: int, started: float, ended: float) -> None:
        self.statuses[endpoint][status] += 1
        if status:
            self.latencies[endpoint].append(ended - started)
        if 200 <= status < 300:
            self.answered_at[endpoint] = ended
            since = self.failing_since.pop(endpoint, None)
            if since is not None:
                self.outages[endpoint] = max(self.outages[endpoint], ended - since)
        elif status in RETRYABLE:
            self.failing_since.setdefault(endpoint, started)

    def take(self) -> Ledger:
        """What was recorded since the last ``take`` (for the parent process); runs of failures carry on."""
        taken = Ledger(generated=self.generated, acked=self.acked, refused=self.refused, resent=self.resent,
                       latencies=self.latencies, statuses=self.statuses, answered_at=dict(self.answered_at),
                       outages=self.outages)
        self.generated, self.acked, self.refused, self.resent = set(), set(), set(), 0
        self.latencies, self.statuses, self.outages = defaultdict(list), defaultdict(Counter), defaultdict(float)
        return taken

    def merge(self, other: Ledger) -> None:
        self.generated |= other.generated
        self.acked |= other.acked
        self.refused |= other.refused
        self.resent += other.resent
        for endpoint, latencies in other.latencies.items():
            self.latencies[endpoint].extend(latencies)
        for endpoint, statuses in other.statuses.items():
            self.statuses[endpoint].update(statuses)
        for endpoint, at in other.answered_at.items():
            self.answered_at[endpoint] = max(self.answered_at.get(endpoint, 0.0), at)
        for endpoint, outage in other.outages.items():
            self.outages[endpoint] = max(self.outages[endpoint], outage)


@dataclass
class ClientPlan:
    base_url: str
    key: str
    clients: int
    duration: float  # seconds of new events
    drain: float = 60.0  # seconds the clients keep retrying what is unsent after ``duration``
    tag: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    think: tuple[float, float] = (0.0, 0.05)
    batch: tuple[int, int] = (3, 20)
    resend_rate: float = 0.1  # chance a batch already accepted is sent again
    repeat_rate: float = 0.05  # chance a batch carries one of its events twice
    guide_id: int = 0
    seed: int = 1


async def clients_run(plan: ClientPlan, ledger: Ledger, *, numbers: range | None = None,
                      start_at: float | None = None) -> None:
    """Run snippet clients ``numbers`` (all of the plan's by default) from ``start_at`` (monotonic, default now):
    new events for ``plan.duration`` s, then retries until every event is answered or ``plan.drain`` runs out."""
    numbers = range(plan.clients) if numbers is None else numbers
    http = Http(plan.base_url, headers={"X-Wayline-Key": plan.key})
    await _start(start_at)
    started = time.monotonic()
    stop_at, drain_until = started + plan.duration, started + plan.duration + plan.drain
    await asyncio.gather(*(SnippetClient(plan, ledger, http, number, stop_at, drain_until).run() for number in numbers))


async def bare_run(plan: ClientPlan, ledger: Ledger, *, numbers: range | None = None,
                   start_at: float | None = None) -> None:
    """The reference: the same clients asking a bare DRF endpoint (``/api/v1/bench/bare``) as fast as answers
    come for ``plan.duration`` s, recorded in ``ledger`` under the endpoint ``bare``."""
    numbers = range(plan.clients) if numbers is None else numbers
    http = Http(plan.base_url)
    await _start(start_at)
    stop_at = time.monotonic() + plan.duration

    async def one():
        while time.monotonic() < stop_at:
            started = time.monotonic()
            status = await http.request("GET", "/api/v1/bench/bare")
            ledger.record("bare", status, started, time.monotonic())

    await asyncio.gather(*(one() for _ in numbers))


async def _start(start_at: float | None) -> None:
    if start_at is not None and start_at > time.monotonic():
        await asyncio.sleep(start_at - time.monotonic())  # line up with the other client processes


class ClientProcesses:
    """The clients split over ``processes`` forked processes, each with its own event loop.

    One Python process cannot drive many clients on a busy machine: the scheduler gives it one
    share of the CPUs among all runnable processes, and each request costs it CPU.
    Fork them before any event loop runs in this process; ``collect`` then merges what each reports
    (every 0.2 s) into a ledger, so code in the parent sees the load as it happens.
    """

    def __init__(self, run, plan: ClientPlan, processes: int):
        context = multiprocessing.get_context("fork")
        start_at = time.monotonic() + 0.5  # every process starts its clients at the same moment
        self.readers, self.processes = [], []
        for index in range(processes):
            reader, writer = context.Pipe(duplex=False)
            process = context.Process(target=_client_process, daemon=True,
                                      args=(run, plan, range(index, plan.clients, processes), start_at, writer))
            process.start()
            writer.close()
            self.readers.append(reader)
            self.processes.append(process)

    async def collect(self, ledger: Ledger) -> None:
        running = list(self.readers)
        while running:
            for reader in list(running):
                while reader.poll():
                    try:
                        report = reader.recv()
                    except EOFError:
                        report = None
                    if report is None:
                        running.remove(reader)
                        break
                    ledger.merge(report)
            await asyncio.sleep(0.05)  # the cadence of collecting reports
        for process in self.processes:
            process.join(timeout=10)
            if process.exitcode:
                raise RuntimeError(f"a client process failed (exit code {process.exitcode})")


def _client_process(run, plan: ClientPlan, numbers: range, start_at: float, writer) -> None:
    ledger = Ledger()

    async def main():
        task = asyncio.create_task(run(plan, ledger, numbers=numbers, start_at=start_at))
        while not task.done():
            await asyncio.wait({task}, timeout=0.2)
            writer.send(ledger.take())
        task.result()

    try:
        asyncio.run(main())
    finally:
        writer.send(ledger.take())
        writer.send(None)
        writer.close()


class SnippetClient:
    def __init__(self, plan: ClientPlan, ledger: Ledger, http: Http, number: int, stop_at: float,
                 drain_until: float):
        self.plan, self.ledger, self.http = plan, ledger, http
        self.rng = random.Random(plan.seed * 100_003 + number)
        self.user_id = f"u-{plan.tag}-{number}"
        self.anonymous_id = f"a-{plan.tag}-{number}"
        self.session_id = f"s-{plan.tag}-{number}"
        self.stop_at, self.drain_until = stop_at, drain_until
        self.queue: list[dict] = []
        self.last_accepted: list[dict] = []
        self.failures = 0

    async def run(self) -> None:
        await self.content(anonymous=True)
        self.push("$pageview", anonymous=True)
        await self.identify()
        while time.monotonic() < self.stop_at:
            await self.content()
            for _ in range(self.rng.randint(*self.plan.batch)):
                self.push(self.rng.choice(["$pageview", "$guide_shown", "$guide_step_viewed", *PRODUCT_EVENTS]))
            await self.flush()
            if self.last_accepted and self.rng.random() < self.plan.resend_rate:
                await self.send(list(self.last_accepted), resend=True)
            await asyncio.sleep(self.rng.uniform(*self.plan.think))  # a user's think time
        while self.queue and time.monotonic() < self.drain_until:
            await self.flush()

    def push(self, name: str, *, anonymous: bool = False) -> None:
        event_id = str(uuid.uuid4())
        event = {
            "id": event_id, "name": name, "timestamp": datetime.now(timezone.utc).isoformat(),
            "url": self.rng.choice(PAGES), "session_id": self.session_id,
            "properties": {"guide_id": self.plan.guide_id, "step": self.rng.randint(1, 5)} if name.startswith("$guide")
            else {"plan": "pro"},
        }
        event["anonymous_id" if anonymous else "user_id"] = self.anonymous_id if anonymous else self.user_id
        self.ledger.generated.add(event_id)
        self.queue.append(event)

    async def flush(self) -> None:
        """Send the queue's head (at most 100); back off after a retryable failure, as the snippet does."""
        batch = self.queue[:100]
        if self.rng.random() < self.plan.repeat_rate:
            batch = [*batch, self.rng.choice(batch)]
            self.ledger.resent += 1
        status = await self.send(batch)
        if status in RETRYABLE:
            self.failures += 1
            delay = min(BACKOFF_MAX, BACKOFF_BASE * 2 ** (self.failures - 1)) * (0.5 + self.rng.random() / 2)
            await asyncio.sleep(delay)  # the snippet's backoff before the next attempt
            return
        self.failures = 0
        sent = {event["id"] for event in batch}
        self.queue = [event for event in self.queue if event["id"] not in sent]
        if 200 <= status < 300:
            self.last_accepted = batch
            self.ledger.acked |= sent
        else:
            self.ledger.refused |= sent

    async def send(self, batch: list[dict], *, resend: bool = False) -> int:
        if resend:
            self.ledger.resent += len(batch)
        return await self.call("events", "POST", "/api/v1/events", json_body={"events": batch})

    async def content(self, *, anonymous: bool = False) -> int:
        who = {"anonymous_id": self.anonymous_id} if anonymous else {"user_id": self.user_id}
        params = {**who, "url": self.rng.choice(PAGES), "session_id": self.session_id}
        return await self.call("content", "GET", "/api/v1/content", params=params)

    async def identify(self) -> None:
        """Identify until it succeeds or the run ends (the snippet identifies once per page load)."""
        body = {"user_id": self.user_id, "anonymous_id": self.anonymous_id,
                "traits": {"plan": self.rng.choice(["free", "pro"]), "role": "admin"}}
        attempt = 0
        while time.monotonic() < self.stop_at:
            status = await self.call("identify", "POST", "/api/v1/identify", json_body=body)
            if status not in RETRYABLE:
                return
            attempt += 1
            await asyncio.sleep(min(BACKOFF_MAX, BACKOFF_BASE * 2 ** attempt))  # backoff before retrying

    async def call(self, endpoint: str, method: str, path: str, **kwargs) -> int:
        started = time.monotonic()
        status = await self.http.request(method, path, **kwargs)  # 0: refused, reset or timed out — "try again"
        self.ledger.record(endpoint, status, started, time.monotonic())
        return status

