"""Rate limits of the public and server API: fixed-window counters in the Django cache.

Use after one of ``analytics.api.authentication``'s classes (the throttle reads ``request.auth``)::

    throttle_classes = [PublicApiThrottle]   # per publishable key and per client IP
    throttle_classes = [ServerApiThrottle]   # per secret key

Limits come from ``settings.WAYLINE_RATE_LIMITS`` — ``{"publishable_key": "6000/minute",
"client_ip": "1200/minute", "secret_key": "12000/minute"}``, each ``N/second|minute|hour|day``
— read on every request, so a test's ``settings`` override applies at once. A request over a
limit gets 429 with ``Retry-After`` (seconds to the end of the window) and a JSON ``detail``.

Cost: far from the limits a request costs no round trip at all — each process counts locally
and adds its counts to the shared counters every ``WAYLINE_RATE_LIMIT_SYNC_SECONDS`` (0.25 s), in
one round trip for all counters (with Redis, one ``EVALSHA`` of a tiny ``INCRBY`` + ``EXPIRE``
script); near a limit every request is counted at once (``SyncedCounters`` says how exact that
is). A round trip per request, even a cheap one, idles a sync worker for its duration, and the
stock DRF throttle (read and rewrite a list of timestamps) costs most of a worker's throughput.
With the local-memory cache (no Redis) each process counts on its own. If Redis is unreachable
the limits are not enforced (fail open) rather than failing the request. The clock is ``timer``
(injectable).

The client IP is ``REMOTE_ADDR``, or — with ``REST_FRAMEWORK["NUM_PROXIES"]`` set (see
``WAYLINE_BEHIND_PROXY``) — the address the trusted proxy appended to ``X-Forwarded-For``.
"""
from __future__ import annotations

import logging
import math
import threading
import time

from django.conf import settings
from django.core.cache import caches
from rest_framework.throttling import BaseThrottle

from analytics.ingest.stream import REDIS_ERRORS, CircuitBreaker, redis_client

logger = logging.getLogger("analytics")

ADD_SCRIPT = """
local values = {}
for i, key in ipairs(KEYS) do
  local amount = tonumber(ARGV[i + 1])
  values[i] = redis.call('INCRBY', key, amount)
  if values[i] == amount then redis.call('EXPIRE', key, ARGV[1]) end
end
return values
"""
_scripts: dict[str, object] = {}
PERIODS = {"s": 1, "sec": 1, "second": 1, "m": 60, "min": 60, "minute": 60, "h": 3600, "hour": 3600,
           "d": 86400, "day": 86400}
NEAR_LIMIT = 0.8  # from this share of a limit on, every request is counted in the shared store at once
_parsed: dict[str, tuple[int, int]] = {}
breaker = CircuitBreaker()


def parse_rate(rate: str) -> tuple[int, int]:
    """``"600/minute"`` -> (600, 60)."""
    cached = _parsed.get(rate)
    if cached is None:
        count, _, period = rate.partition("/")
        cached = _parsed[rate] = (int(count), PERIODS[period.strip().lower()])
    return cached


def counters_add(amounts: dict[str, int], ttl: int) -> dict[str, int] | None:
    """Add to shared counters (created expiring after ``ttl`` s) in one round trip; totals, or ``None`` if down."""
    cache = caches[getattr(settings, "WAYLINE_RATE_LIMIT_CACHE", "default")]
    keys = list(amounts)
    redis_cache = getattr(cache, "_cache", None)
    if hasattr(redis_cache, "_servers"):  # django.core.cache.backends.redis.RedisCache
        if not breaker.allows():
            return None
        try:
            # One long-lived client per server: the cache's get_client() builds a new client object
            # on every call, which costs more than the round trip itself.
            url = redis_cache._servers[0]
            script = _scripts.get(url)
            if script is None:
                script = _scripts[url] = redis_client(url).register_script(ADD_SCRIPT)
            full_keys = [cache.make_and_validate_key(key) for key in keys]
            return dict(zip(keys, script(keys=full_keys, args=[ttl, *amounts.values()])))
        except REDIS_ERRORS as error:
            breaker.trip()
            logger.warning("ratelimit.cache_unavailable", extra={"error": type(error).__name__})
            return None
    totals = {}
    for key, amount in amounts.items():
        cache.add(key, 0, timeout=ttl)
        try:
            totals[key] = cache.incr(key, amount)
        except ValueError:  # expired between add and incr
            cache.set(key, amount, timeout=ttl)
            totals[key] = amount
    return totals


class SyncedCounters:
    """This process's view of the shared counters, pushed to the store at most every sync interval.

    Far from every limit, a request costs no round trip: increments pile up locally and are added
    to the shared counters (one round trip for all of them) once ``WAYLINE_RATE_LIMIT_SYNC_SECONDS``
    have passed. From ``NEAR_LIMIT`` of a limit on, every request is added at once, so the decision
    at the limit is exact up to what other processes counted since their last sync (at most one
    interval's worth of their requests). An interval of 0 makes every request a round trip.
    """

    def __init__(self):
        self._known: dict[str, tuple[int, float]] = {}  # key -> (shared total at last sync, expiry)
        self._pending: dict[str, int] = {}
        self._synced_at = float("-inf")
        self._lock = threading.Lock()

    def increment(self, keys: list[str], limits: list[int], ttl: int, now: float) -> list[int]:
        interval = getattr(settings, "WAYLINE_RATE_LIMIT_SYNC_SECONDS", 0.25)
        with self._lock:
            for key in keys:
                self._pending[key] = self._pending.get(key, 0) + 1
            estimates = [self._known.get(key, (0, 0.0))[0] + self._pending[key] for key in keys]
            due = (
                interval <= 0
                or not 0 <= now - self._synced_at < interval
                or any(estimate >= NEAR_LIMIT * limit for estimate, limit in zip(estimates, limits))
            )
            if not due:
                return estimates
            batch, self._pending, self._synced_at = self._pending, {}, now
            self._known = {key: known for key, known in self._known.items() if known[1] > now}
        totals = counters_add(batch, ttl)
        if totals is None:
            return estimates  # the store is unreachable: decide on what this process saw
        with self._lock:
            for key, total in totals.items():
                self._known[key] = (total, now + ttl)
            return [self._known.get(key, (0, 0.0))[0] + self._pending.get(key, 0) for key in keys]

    def reset(self) -> None:
        with self._lock:
            self._known, self._pending, self._synced_at = {}, {}, float("-inf")


counters = SyncedCounters()


class FixedWindowThrottle(BaseThrottle):
    """Counters named by ``scopes()``; over any limit, the request is refused until its window ends."""

    timer = staticmethod(time.time)

    def scopes(self, request, view) -> list[tuple[str, str]]:
        """(limit name in ``WAYLINE_RATE_LIMITS``, identity) pairs to count this request against."""
        raise NotImplementedError

    def allow_request(self, request, view) -> bool:
        limits = settings.WAYLINE_RATE_LIMITS
        now = self.timer()
        keys, rates = [], []
        for scope, ident in self.scopes(request, view):
            rate = limits.get(scope)
            if not rate:
                continue
            limit, period = parse_rate(rate)
            window = int(now // period)
            keys.append(f"wl:rl:{scope}:{ident}:{period}:{window}")
            rates.append((limit, period, window))
        if not keys:
            return True
        # Each distinct window length would need its own expiry; the longest one is safe for all.
        ttl = max(period for _, period, _ in rates) + 1
        values = counters.increment(keys, [limit for limit, _, _ in rates], ttl, now)
        self._wait = 0.0
        for value, (limit, period, window) in zip(values, rates):
            if value > limit:
                self._wait = max(self._wait, (window + 1) * period - now)
        return self._wait == 0.0

    def wait(self):
        return max(1, math.ceil(getattr(self, "_wait", 1)))


class PublicApiThrottle(FixedWindowThrottle):
    def scopes(self, request, view):
        application = request.auth
        return [("publishable_key", str(application.pk)), ("client_ip", self.get_ident(request) or "unknown")]


class ServerApiThrottle(FixedWindowThrottle):
    def scopes(self, request, view):
        return [("secret_key", str(request.auth.pk))]
