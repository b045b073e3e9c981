"""One private stack for the reliability tests: PostgreSQL, Redis, gunicorn, consumers and Celery of their own.

The stack is started once per session (migrating takes most of its start-up) and every test loads
an application of its own, so each reconciliation counts only that test's events. A missing
redis-server, initdb or gunicorn fails the tests with the install command: never a skip.
"""
import pytest

from bench._services import Stack, stack_directory

APPLICATIONS = ["load", "redis", "consumer", "postgres", "web-worker"]


@pytest.fixture(scope="session")
def stack():
    # The consumers keep the default claim idle time (60 s), longer than any test waits: a consumer
    # killed mid-batch must recover by taking up its own entries when its supervisor restarts it.
    with Stack(stack_directory(), workers=2, consumers=2, application_names=APPLICATIONS) as running:
        yield running
