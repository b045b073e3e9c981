"""The Redis stream that buffers accepted events between the API and the consumer.

One ``XADD`` per request: the whole validated batch is one stream entry (fields ``app``, ``at``
— the receive time — and ``events``, a JSON list), which is the cheapest thing Redis can do per
request. The consumer reads entries through a consumer group and deletes them once written.

Redis is reached with short socket timeouts, and a failure opens a circuit breaker for a few
seconds: meanwhile the API writes directly to the database instead of waiting on a dead server
for every request. Nothing is lost either way; an ``XADD`` that timed out after Redis did store
the entry only means the same events are written twice, and the second write stores nothing.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime

import redis
from django.conf import settings

logger = logging.getLogger("analytics")

REDIS_ERRORS = (redis.ConnectionError, redis.TimeoutError)
SOCKET_TIMEOUT = 0.5  # seconds: a healthy loopback or LAN Redis answers in well under 1 ms
CONSUMER_SOCKET_TIMEOUT = 15.0  # above the longest blocking read the consumer asks for
MAX_BLOCK_MS = 5000


class CircuitBreaker:
    """After a failure, say "don't try" for ``cooldown`` seconds; the clock is injectable."""

    def __init__(self, cooldown: float = 5.0, timer=time.monotonic):
        self.cooldown = cooldown
        self.timer = timer
        self._open_until = 0.0

    def allows(self) -> bool:
        return self.timer() >= self._open_until

    def trip(self) -> None:
        self._open_until = self.timer() + self.cooldown

    def reset(self) -> None:
        self._open_until = 0.0


breaker = CircuitBreaker()
_clients: dict[str, redis.Redis] = {}
_clients_lock = threading.Lock()


def buffer_url() -> str:
    """Where the event stream lives; empty means no buffer (events are written directly)."""
    return getattr(settings, "WAYLINE_EVENT_BUFFER_URL", "") or ""


def redis_client(url: str | None = None) -> redis.Redis:
    """One client (and connection pool) per URL per process; redis-py re-creates pools after fork."""
    url = url or buffer_url()
    client = _clients.get(url)
    if client is None:
        with _clients_lock:
            client = _clients.get(url) or redis.Redis.from_url(
                url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT, health_check_interval=30
            )
            _clients[url] = client
    return client


def consumer_client(url: str | None = None) -> redis.Redis:
    """A client for the consumer, whose reads block for up to a few seconds: a longer socket timeout."""
    return redis.Redis.from_url(
        url or buffer_url(), socket_timeout=CONSUMER_SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT * 4
    )


def stream_name() -> str:
    return settings.WAYLINE_EVENT_STREAM


def events_to_entry(*, application_id: int, events: list[dict], received_at: datetime) -> dict[str, str]:
    """The stream entry for one batch: plain JSON, timestamps as ISO-8601."""
    payload = [
        [e["id"], e["name"], e["user_id"], e["anonymous_id"], e["timestamp"].isoformat(), e["timestamp_clamped"],
         e["properties_json"], e["url"], e["session_id"]]
        for e in events
    ]
    return {"app": str(application_id), "at": received_at.isoformat(), "events": json.dumps(payload, ensure_ascii=False)}


def entry_to_events(fields: dict) -> tuple[int, list[dict]]:
    """(application id, event dicts as ``validate_batch`` returns them, with ``received_at``)."""
    application_id = int(fields[b"app"])
    received_at = datetime.fromisoformat(fields[b"at"].decode())
    events = []
    for event_id, name, user_id, anonymous_id, timestamp, clamped, properties_json, url, session_id in json.loads(
        fields[b"events"]
    ):
        events.append({
            "id": event_id, "name": name, "user_id": user_id, "anonymous_id": anonymous_id,
            "timestamp": datetime.fromisoformat(timestamp), "timestamp_clamped": clamped,
            "properties": json.loads(properties_json), "properties_json": properties_json, "url": url,
            "session_id": session_id, "received_at": received_at,
        })
    return application_id, events


def events_append(*, application_id: int, events: list[dict], received_at: datetime) -> bool:
    """Append a validated batch to the stream; ``False`` when Redis is unavailable (write directly)."""
    url = buffer_url()
    if not url or not breaker.allows():
        return False
    try:
        redis_client(url).xadd(
            stream_name(), events_to_entry(application_id=application_id, events=events, received_at=received_at)
        )
    except REDIS_ERRORS as error:
        breaker.trip()
        logger.warning(
            "events.buffer_unavailable",
            extra={"application_id": application_id, "error": type(error).__name__, "cooldown_s": breaker.cooldown},
        )
        return False
    return True
