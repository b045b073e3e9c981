"""What the snippet's browser tests share: the application under test, the demo page, and waiting
until the snippet's events are in the database.

Import the fixtures into a test module (``from tests.browser.helpers import delivery, snippet``).

Events reach the database the way they do in production: without Redis the events API writes
them before it answers 202; with ``REDIS_URL`` it appends them to a Redis stream (one of this
test's own) and the stream consumer writes them — ``EventDelivery.drain`` runs it once the
snippet has its answer. ``stored_events`` first waits, in the page, until the snippet's durable
queue in ``localStorage`` is empty (it removes an event only after a 2xx answer), so nothing is
counted before the flush, and nothing is polled with sleeps.
"""
from __future__ import annotations

import json
import threading
import time
import uuid
from dataclasses import dataclass
from urllib.parse import urlencode

import pytest

from analytics.models import Event
from onboarding.install_tag import install_tag
from onboarding.models import Application
from tests.factories import make_application

FLUSH_TIMEOUT_MS = 10_000
# Everything that draws a guide lives in the shadow root of this host element.
TOOLTIP = "#wayline-root .wl-card[role=dialog]:not(.wl-survey)"
SURVEY = "#wayline-root .wl-survey"
BAR = "#wayline-root .wl-bar"
CHECKLIST_LAUNCHER = "#wayline-root .wl-launch"
CHECKLIST_PANEL = "#wayline-root .wl-panel"
PREVIEW_BADGE = "#wayline-root .wl-preview"


class EventDelivery:
    """How accepted events reach the database in this run (see the module docstring)."""

    def __init__(self, *, buffered: bool):
        self.buffered = buffered

    def drain(self) -> int:
        """Write what the stream holds (buffered runs); the number of new events stored."""
        if not self.buffered:
            return 0
        from analytics.ingest.consumer import StreamConsumer

        return StreamConsumer(name="browser-tests").drain(until_empty=True).new


def _redis_reachable(url: str) -> bool:
    if not url:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def delivery(settings):
    """Fresh key and origin caches, generous rate limits, and the event path of this run."""
    from analytics.api import throttling
    from analytics.api.authentication import key_caches_clear
    from analytics.api.cors import all_origins
    from analytics.ingest import stream

    settings.WAYLINE_RATE_LIMITS = {"publishable_key": "100000/minute", "client_ip": "100000/minute",
                                    "secret_key": "100000/minute"}
    buffered = _redis_reachable(settings.REDIS_URL)
    settings.WAYLINE_EVENT_BUFFER_URL = settings.REDIS_URL if buffered else ""
    if buffered:
        settings.WAYLINE_EVENT_STREAM = f"test:browser-events:{uuid.uuid4().hex}"
    for reset in (key_caches_clear, all_origins.clear, stream.breaker.reset, throttling.breaker.reset):
        reset()
    yield EventDelivery(buffered=buffered)
    if buffered:
        stream.redis_client(settings.REDIS_URL).delete(settings.WAYLINE_EVENT_STREAM,
                                                       f"{settings.WAYLINE_EVENT_STREAM}:dead")
    key_caches_clear()
    all_origins.clear()


class InFlight:
    """The live server's WSGI app, counting the requests it is still serving.

    A test can end while a request its page started is being served; the database is then emptied
    under it (on SQLite the server even shares the test's connection). The ``snippet`` fixture
    waits until none is left before it lets the test's data go.
    """

    def __init__(self, app):
        self.app = app
        self.serving = 0
        self._changed = threading.Condition()

    def __call__(self, environ, start_response):
        with self._changed:
            self.serving += 1
        try:
            result = self.app(environ, start_response)
        except BaseException:
            self._done()
            raise
        return _ClosedThen(result, self._done)

    def _done(self) -> None:
        with self._changed:
            self.serving -= 1
            self._changed.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self.serving == 0, timeout)

    @classmethod
    def installed(cls, live_server) -> InFlight:
        server = live_server.thread.httpd
        app = server.get_app()
        if not isinstance(app, cls):
            app = cls(app)
            server.set_app(app)
        return app


class _ClosedThen:
    """A WSGI response that calls ``then`` once the server has closed it (the request is over)."""

    def __init__(self, result, then):
        self.result, self.then = result, then

    def __iter__(self):
        return iter(self.result)

    def close(self):
        try:
            if hasattr(self.result, "close"):
                self.result.close()
        finally:
            self.then()


@dataclass(frozen=True)
class Snippet:
    """The application under test and the live server its snippet talks to."""

    app: Application
    url: str  # the live server, e.g. http://localhost:41234

    def demo(self, section: str = "dashboard", *, user: str = "user-1", **params) -> str:
        """The demo host page, identifying ``user``."""
        query = urlencode({"app": self.app.publishable_key, "user": user, **params})
        return f"{self.url}/demo/{section}/?{query}"

    def host_page(self, page, body: str, *, user: str = "user-1", path: str = "/fixture/host") -> str:
        """Serve a static host page (``body``, the install tag, an identify) from the live server's
        origin without a route in the application: the browser asks, the test answers."""
        url = f"{self.url}{path}"
        html = (
            '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host</title>'
            '<link rel="icon" href="data:,"></head><body>'
            f"{body}{install_tag(application=self.app, api_host=self.url)}"
            f"<script>wayline.identify({json.dumps(user)});</script></body></html>"
        )
        page.route(url, lambda route: route.fulfill(status=200, content_type="text/html", body=html))
        return url


@pytest.fixture
def snippet(transactional_db, live_server, delivery, browser_context) -> Snippet:
    """An application whose snippet may call the live server from its origin (no throttle).

    Tests take the live server from here, never directly: the database must be set up before the
    session's live server starts, or (on SQLite) the server would not share the test's in-memory
    connection. Afterwards the browser goes offline before its pages close, so the events a closing
    page sends (``sendBeacon`` on ``pagehide``) never reach a server whose database is being emptied,
    and the requests already on their way are served to the end first.
    """
    application = make_application(
        "Chatterbox", allowed_origins=[live_server.url], throttle_per_hour=0, throttle_per_day=0
    )
    in_flight = InFlight.installed(live_server)
    yield Snippet(app=application, url=live_server.url)
    browser_context.set_offline(True)
    for open_page in browser_context.pages:
        open_page.close()
    in_flight.wait_idle(timeout=30)


def queue_empty(page, application: Application, timeout: float = FLUSH_TIMEOUT_MS) -> None:
    """Wait until the snippet holds no unsent event: each was answered with a 2xx (or dropped)."""
    prefix = f"wl_{application.publishable_key}_q."
    page.wait_for_function(
        "prefix => !Object.keys(localStorage).some((k) => k.startsWith(prefix))", arg=prefix, timeout=timeout
    )


def stored_events(page, application: Application, delivery: EventDelivery, **filters):
    """The application's stored events matching ``filters``, once the snippet flushed its queue."""
    queue_empty(page, application)
    delivery.drain()
    return Event.objects.filter(application=application, **filters)


def _is_events_answer(response) -> bool:
    return response.request.method == "POST" and "/api/v1/events" in response.url


def stored_when(page, delivery: EventDelivery, check, timeout: float = FLUSH_TIMEOUT_MS):
    """``check()``'s first truthy result, tried now and again after each answer to an events POST.

    For events no drawn element announces (a step that failed, a guide that stopped). Race-free:
    Playwright delivers browser events to this thread only inside its own calls, so an answer that
    comes after a failed check is still waited for.
    """
    deadline = time.monotonic() + timeout / 1000
    while True:
        delivery.drain()
        result = check()
        if result:
            return result
        remaining_ms = (deadline - time.monotonic()) * 1000
        if remaining_ms <= 0:
            raise AssertionError(f"events not stored within {timeout:.0f} ms")
        page.wait_for_event("response", predicate=_is_events_answer, timeout=remaining_ms)


def names_count(events, name: str, **properties) -> int:
    """How many of ``events`` are called ``name`` and carry ``properties``."""
    return sum(
        1 for event in events if event.name == name and all(event.properties.get(k) == v for k, v in properties.items())
    )

