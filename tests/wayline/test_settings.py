"""Settings read from the environment, each case in a fresh interpreter so nothing leaks."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROBE = (
    "import json, django; from django.conf import settings; django.setup(); "
    "print(json.dumps({'engine': settings.DATABASES['default']['ENGINE'], 'eager': settings.CELERY_TASK_ALWAYS_EAGER,"
    " 'broker': settings.CELERY_BROKER_URL, 'cache': settings.CACHES['default']['BACKEND'], 'debug': settings.DEBUG,"
    " 'hosts': settings.ALLOWED_HOSTS}))"
)
# DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests for their own process only.
VARIABLES = (
    "DATABASE_URL", "REDIS_URL", "WAYLINE_SECRET_KEY", "ALLOWED_HOSTS", "DEBUG", "WAYLINE_DATA_DIR",
    "DJANGO_ALLOW_ASYNC_UNSAFE",
)


def run(code_or_args, env_overrides, tmp_path):
    env = {key: value for key, value in os.environ.items() if key not in VARIABLES}
    env.update({"DJANGO_SETTINGS_MODULE": "wayline.settings", "WAYLINE_DATA_DIR": str(tmp_path), **env_overrides})
    args = [sys.executable, "-c", code_or_args] if isinstance(code_or_args, str) else [sys.executable, *code_or_args]
    return subprocess.run(args, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)


def test_settings__no_variables__embedded_sqlite_eager_celery_locmem(tmp_path):
    result = run(PROBE, {}, tmp_path)
    assert result.returncode == 0, result.stderr
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["engine"] == "django.db.backends.sqlite3"
    assert values["eager"] is True and values["broker"] == "memory://"
    assert values["cache"].endswith("LocMemCache")
    assert values["debug"] is True


def test_settings__database_and_redis_urls__postgres_and_redis(tmp_path):
    result = run(
        PROBE,
        {"DATABASE_URL": "postgres://u@db.internal:5432/wl", "REDIS_URL": "redis://cache.internal:6379/2"},
        tmp_path,
    )
    values = json.loads(result.stdout.strip().splitlines()[-1])
    assert values["engine"] == "django.db.backends.postgresql"
    assert values["eager"] is False and values["broker"] == "redis://cache.internal:6379/2"
    assert values["cache"].endswith("RedisCache")


def test_settings__debug_off_without_secret__improperly_configured(tmp_path):
    result = run(PROBE, {"DEBUG": "0"}, tmp_path)
    assert result.returncode != 0
    assert "WAYLINE_SECRET_KEY must be set" in result.stderr


def test_settings__bad_boolean__clear_error(tmp_path):
    result = run(PROBE, {"DEBUG": "maybe"}, tmp_path)
    assert result.returncode != 0 and "is not a boolean" in result.stderr


@pytest.mark.parametrize("debug", ["0", "false"], ids=["zero", "false"])
def test_check_deploy__production_variables__passes(tmp_path, debug):
    production = {
        "DEBUG": debug,
        "WAYLINE_SECRET_KEY": "k" * 20 + "Zq8!xP2#mW9$vL5^nB7&cR4*tY6(uI3)oE1",
        "ALLOWED_HOSTS": "wayline.example.com",
    }
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], production, tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
