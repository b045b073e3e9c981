"""Fixtures shared by the ingest and public API tests (imported by their conftest modules)."""
import uuid

import pytest


@pytest.fixture(autouse=True)
def _api_clean_slate(settings):
    """Fresh key/origin caches and open circuit breakers; events written directly unless a test buffers them."""
    from analytics.api import throttling
    from analytics.api.authentication import key_caches_clear
    from analytics.api.cors import all_origins
    from analytics.ingest import stream

    settings.WAYLINE_EVENT_BUFFER_URL = ""
    settings.WAYLINE_RATE_LIMITS = {"publishable_key": "100000/minute", "client_ip": "100000/minute",
                                    "secret_key": "100000/minute"}
    key_caches_clear()
    all_origins.clear()
    stream.breaker.reset()
    throttling.breaker.reset()
    throttling.counters.reset()
    yield
    key_caches_clear()
    all_origins.clear()
    stream.breaker.reset()
    throttling.breaker.reset()


@pytest.fixture
def event_stream(settings):
    """Buffer events in the real Redis at REDIS_URL, in a stream of this test's own."""
    from analytics.ingest.stream import redis_client

    settings.WAYLINE_EVENT_BUFFER_URL = settings.REDIS_URL
    settings.WAYLINE_EVENT_STREAM = f"test:events:{uuid.uuid4().hex}"
    client = redis_client(settings.REDIS_URL)
    yield client
    client.delete(settings.WAYLINE_EVENT_STREAM, f"{settings.WAYLINE_EVENT_STREAM}:dead")
