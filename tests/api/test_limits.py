"""Rate limits (per key, per client IP, per secret key): 429 with Retry-After and a JSON body."""
import json
import uuid

import pytest

from analytics.api.throttling import FixedWindowThrottle, parse_rate
from tests.factories import make_application, publishable_key_headers, secret_key_headers


@pytest.fixture
def clock(monkeypatch):
    """The throttles' clock, starting at a window no other test uses."""
    now = {"t": float(uuid.uuid4().int % 10**6) * 86400}
    monkeypatch.setattr(FixedWindowThrottle, "timer", staticmethod(lambda: now["t"]))
    return now


def post_events(client, application, **headers):
    return client.post("/api/v1/events", json.dumps({"events": []}), content_type="application/json",
                       **publishable_key_headers(application, **headers))


@pytest.mark.parametrize(("rate", "expected"), [("600/minute", (600, 60)), ("5/s", (5, 1)), ("100/day", (100, 86400))],
                         ids=["minute", "second", "day"])
def test_parse_rate__forms__count_and_seconds(rate, expected):
    assert parse_rate(rate) == expected


def test_limits__publishable_key_over_limit__429_retry_after_json_then_next_window_ok(client, application, settings, clock):
    settings.WAYLINE_RATE_LIMITS = {"publishable_key": "3/minute", "client_ip": "1000/minute"}
    clock["t"] += 15  # 45 s before the window ends
    assert [post_events(client, application).status_code for _ in range(3)] == [202, 202, 202]
    response = post_events(client, application)
    assert response.status_code == 429
    assert response["Retry-After"] == "45"
    assert response.json()["code"] == "throttled" and response.json()["retry_after"] == 45
    clock["t"] += 45
    assert post_events(client, application).status_code == 202


def test_limits__client_ip__shared_across_applications(client, application, settings, clock):
    settings.WAYLINE_RATE_LIMITS = {"publishable_key": "1000/minute", "client_ip": "2/minute"}
    other = make_application("Other")
    assert post_events(client, application).status_code == 202
    assert post_events(client, other).status_code == 202
    assert post_events(client, other).status_code == 429
    # Another address still gets through
    assert post_events(client, other, REMOTE_ADDR="10.0.0.9").status_code == 202


def test_limits__forwarded_for_without_trusted_proxy__ignored(client, application, settings, clock):
    settings.WAYLINE_RATE_LIMITS = {"publishable_key": "1000/minute", "client_ip": "1/minute"}
    assert post_events(client, application, HTTP_X_FORWARDED_FOR="1.1.1.1").status_code == 202
    assert post_events(client, application, HTTP_X_FORWARDED_FOR="2.2.2.2").status_code == 429


def test_limits__secret_key__own_limit(client, application, settings, clock):
    settings.WAYLINE_RATE_LIMITS = {"secret_key": "1/minute", "publishable_key": "1000/minute", "client_ip": "1000/minute"}
    body = json.dumps({"events": []})
    headers = secret_key_headers(application)
    assert client.post("/api/v1/server/events", body, content_type="application/json", **headers).status_code == 202
    assert client.post("/api/v1/server/events", body, content_type="application/json", **headers).status_code == 429
    assert post_events(client, application).status_code == 202


def test_limits__cache_unreachable__fails_open(client, application, settings, clock):
    settings.CACHES = {
        **settings.CACHES,
        "dead-redis": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": "redis://127.0.0.1:1/0",
                       "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2}},
    }
    settings.WAYLINE_RATE_LIMIT_CACHE = "dead-redis"
    settings.WAYLINE_RATE_LIMITS = {"publishable_key": "1/minute", "client_ip": "1/minute"}
    assert [post_events(client, application).status_code for _ in range(3)] == [202, 202, 202]


@pytest.mark.redis
def test_limits__redis_cache__one_shared_counter_per_scope(client, application, settings, clock):
    settings.CACHES = {
        **settings.CACHES,
        "limits": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": settings.REDIS_URL,
                   "KEY_PREFIX": f"test-{uuid.uuid4().hex}"},
    }
    settings.WAYLINE_RATE_LIMIT_CACHE = "limits"
    settings.WAYLINE_RATE_LIMITS = {"publishable_key": "2/minute", "client_ip": "1000/minute"}
    assert [post_events(client, application).status_code for _ in range(3)] == [202, 202, 429]
    from django.core.cache import caches

    client_redis = caches["limits"]._cache.get_client(write=False)
    keys = client_redis.keys(f"{caches['limits'].key_prefix}*")
    assert len(keys) == 2  # the key's counter and the IP's counter of this window
    assert all(0 < client_redis.ttl(key) <= 61 for key in keys)
    client_redis.delete(*keys)


def private_cache(settings, name: str):
    """A cache of the test's own, so entries other tests leave (and LocMem culling) cannot interfere."""
    from django.core.cache import caches

    settings.CACHES = {**settings.CACHES, name: {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": name}}
    settings.WAYLINE_RATE_LIMIT_CACHE = name
    return caches[name]


def test_synced_counters__far_from_limit__shared_counter_updated_once_per_interval(settings):
    from analytics.api.throttling import SyncedCounters

    settings.WAYLINE_RATE_LIMIT_SYNC_SECONDS = 1.0
    key = f"test-sync-{uuid.uuid4().hex}"
    cache = private_cache(settings, key)
    counters = SyncedCounters()
    # When ten requests arrive within one interval, far below a limit of 100
    values = [counters.increment([key], [100], 61, now=1000.0 + i * 0.05)[0] for i in range(10)]
    # Then every estimate counts them all, but the shared counter saw only the first sync
    assert values == list(range(1, 11))
    assert cache.get(key) == 1
    # And once the interval has passed, the pending ones go in one sync
    assert counters.increment([key], [100], 61, now=1001.5) == [11]
    assert cache.get(key) == 11
    # And from 80 % of the limit on, every request reaches the shared counter
    for _ in range(68):
        counters.increment([key], [100], 61, now=1001.6)
    assert cache.get(key) == 11  # 79 seen, within the interval and below 80 % of the limit
    counters.increment([key], [100], 61, now=1001.6)
    assert cache.get(key) == 80
    counters.increment([key], [100], 61, now=1001.6)
    assert cache.get(key) == 81
    cache.delete(key)


def test_synced_counters__other_process_counts__seen_at_sync(settings):
    settings.WAYLINE_RATE_LIMIT_SYNC_SECONDS = 0.25
    from analytics.api.throttling import SyncedCounters

    key = f"test-sync-{uuid.uuid4().hex}"
    private_cache(settings, key)
    ours, theirs = SyncedCounters(), SyncedCounters()  # two worker processes sharing the cache
    for _ in range(5):
        theirs.increment([key], [6], 61, now=50.0)  # the first and the fifth (80 % of 6) are synced
    assert ours.increment([key], [6], 61, now=50.0) == [6]
