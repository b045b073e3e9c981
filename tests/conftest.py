"""Suite-wide fixtures and the rule that services CI is meant to exercise are never skipped there."""
import os
import shutil

import pytest
from django.conf import settings

REQUIRE_SERVICES = os.environ.get("WAYLINE_REQUIRE_SERVICES") == "1"
CHROMIUM = "/usr/bin/chromium"


def _redis_reachable() -> bool:
    if not settings.REDIS_URL:
        return False
    import redis

    try:
        return bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=2).ping())
    except redis.RedisError:
        return False


def pytest_sessionstart(session):
    if not REQUIRE_SERVICES:
        return
    problems = []
    if not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        problems.append("DATABASE_URL does not name PostgreSQL")
    if not _redis_reachable():
        problems.append(f"Redis at REDIS_URL={settings.REDIS_URL!r} is not reachable")
    if not shutil.which("chromium") and not os.path.exists(CHROMIUM):
        problems.append("Chromium is not installed")
    if problems:
        pytest.exit("Services the suite must exercise are missing: " + "; ".join(problems), returncode=3)


def pytest_collection_modifyitems(config, items):
    postgres = settings.DATABASES["default"]["ENGINE"].endswith("postgresql")
    redis_ok = _redis_reachable() if any(item.get_closest_marker("redis") for item in items) else True
    for item in items:
        if item.get_closest_marker("redis") and not redis_ok:
            if REQUIRE_SERVICES:
                raise pytest.UsageError("Redis tests cannot run: Redis is unreachable")
            item.add_marker(pytest.mark.skip(reason="needs REDIS_URL (runs in CI)"))
        if item.get_closest_marker("postgres") and not postgres:
            if REQUIRE_SERVICES:
                raise pytest.UsageError("PostgreSQL tests cannot run on this database")
            item.add_marker(pytest.mark.skip(reason="needs PostgreSQL via DATABASE_URL (runs in CI)"))


@pytest.fixture(autouse=True)
def _eager_celery(settings):
    """Tasks run in-process in tests unless a test starts a real worker itself."""
    from wayline.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def application(db):
    from tests.factories import make_application

    return make_application()


@pytest.fixture
def editor(db):
    from tests.factories import make_staff_user
    from wayline.roles import EDITORS

    return make_staff_user("editor", group=EDITORS)


@pytest.fixture
def viewer(db):
    from tests.factories import make_staff_user
    from wayline.roles import VIEWERS

    return make_staff_user("viewer", group=VIEWERS)


@pytest.fixture
def editor_client(client, editor):
    client.force_login(editor)
    return client


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client
