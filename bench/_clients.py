"""Simulated snippet clients for ``bench/load.py`` and ``bench/faults.py``: asyncio + httpx on loopback.

Each client behaves like the snippet in one browser tab: content for the anonymous visitor,
identify, then rounds of content → a batch of events, with a think time between requests. Like
the snippet's queue (``frontend_snippet/src/queue.ts``) it keeps every event until a 2xx or a
permanent 4xx answers it, and resends on a network error, 408, 429 or 5xx after a backoff — so
an event that was never stored although its client got a 202, or kept retrying it to the end, is
*lost*. On top, a client sometimes resends a batch that was already accepted (the reply went
missing) and sometimes repeats an event inside one batch: those must never be stored twice.

The ledger counts per endpoint: latencies (every answered request), statuses, network errors.
"""
from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone

import httpx

PAGES = [f"https://app.load.test/{path}" for path in ("", "inbox", "reports", "settings", "settings/team", "help")]
PRODUCT_EVENTS = ["message_sent", "report_viewed", "conversation_assigned", "widget_customized"]
RETRYABLE = {0, 408, 429} | set(range(500, 600))
BACKOFF_BASE = 0.1  # seconds; the snippet starts at 1 s — compressed so a short run sees the retries through
BACKOFF_MAX = 2.0


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

    def pending(self) -> set[str]:
        """Ids still waiting in a client's queue (generated, neither accepted nor refused)."""
        return self.generated - self.acked - self.refused


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


async def clients_run(plan: ClientPlan, ledger: Ledger) -> None:
    """Run ``plan.clients`` snippet clients: new events for ``plan.duration`` s, then retries until all are answered."""
    limits = httpx.Limits(max_connections=plan.clients, max_keepalive_connections=plan.clients)
    async with httpx.AsyncClient(base_url=plan.base_url, headers={"X-Wayline-Key": plan.key}, limits=limits,
                                 timeout=httpx.Timeout(10.0)) as http:
        started = time.monotonic()
        stop_at, drain_until = started + plan.duration, started + plan.duration + plan.drain
        await asyncio.gather(*(
            SnippetClient(plan, ledger, http, number, stop_at, drain_until).run() for number in range(plan.clients)
        ))


class SnippetClient:
    def __init__(self, plan: ClientPlan, ledger: Ledger, http: httpx.AsyncClient, number: int, stop_at: float,
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
        return await self.call("events", "POST", "/api/v1/events", json={"events": batch})

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
            status = await self.call("identify", "POST", "/api/v1/identify", json=body)
            if status not in RETRYABLE:
                return
            attempt += 1
            await asyncio.sleep(min(BACKOFF_MAX, BACKOFF_BASE * 2 ** attempt))  # backoff before retrying

    async def call(self, endpoint: str, method: str, path: str, **kwargs) -> int:
        started = time.monotonic()
        try:
            response = await self.http.request(method, path, **kwargs)
            status = response.status_code
        except httpx.HTTPError:
            status = 0  # refused, reset or timed out: the snippet treats all of them as "try again"
        self.ledger.record(endpoint, status, started, time.monotonic())
        return status


async def reference_run(base_url: str, *, clients: int, duration: float) -> float:
    """The reference beside the load: the same clients asking a bare DRF endpoint (``/api/v1/bench/bare``) as fast as
    answers come, for ``duration`` s; returns its 2xx requests/s, measured on the same machine at the same time."""
    ok = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=httpx.Timeout(10.0)) as http:
        started = time.monotonic()

        async def one():
            nonlocal ok
            while time.monotonic() < started + duration:
                try:
                    status = (await http.get("/api/v1/bench/bare")).status_code
                except httpx.HTTPError:
                    continue
                ok += status == 200  # after the await: ``ok += await …`` would add to a stale value

        await asyncio.gather(*(one() for _ in range(clients)))
        return ok / (time.monotonic() - started)
