"""Wayline settings: the only settings module, driven by environment variables.

With no variables at all, Wayline runs embedded: a SQLite file under ``var/``, Celery
tasks executed in-process, a local-memory cache and no Redis. ``DATABASE_URL`` and
``REDIS_URL`` switch on PostgreSQL and Redis; nothing else changes in the code paths.
"""
import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("WAYLINE_DATA_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean; use 1/0, true/false, yes/no or on/off.")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


SECRET_KEY = os.environ.get("WAYLINE_SECRET_KEY", "")
DEBUG = env_bool("DEBUG", default=not SECRET_KEY)
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("WAYLINE_SECRET_KEY must be set when DEBUG is off.")
    # Only ever used with DEBUG on, for the embedded demo and the tests.
    SECRET_KEY = "wayline-embedded-development-key-not-for-production-use-0123456789"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", "testserver"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "onboarding",
    "analytics",
    "experiments",
    "wayline",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Public API: CORS per application (answers preflights itself), then JSON error pages for /api/.
    "analytics.api.cors.PublicApiCorsMiddleware",
    "analytics.api.errors.ApiJsonErrorsMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "wayline.urls"
WSGI_APPLICATION = "wayline.wsgi.application"
ASGI_APPLICATION = "wayline.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "wayline" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# Database: a SQLite file unless DATABASE_URL says otherwise (PostgreSQL via psycopg 3).
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=True)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "wayline.sqlite3",
            # IMMEDIATE: a transaction takes the write lock when it begins. A deferred one that read
            # first and writes later fails at once with "database is locked" when another
            # connection wrote in between (WAL cannot wait for that), e.g. two event batches.
            "OPTIONS": {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"},
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Redis: Celery broker, cache and the event buffer. Without it tasks run in-process.
REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "wayline"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE: dict = {
    # Fresh result snapshots of every running experiment.
    "experiments.experiments_recompute_running": {
        "task": "experiments.experiments_recompute_running",
        "schedule": 15 * 60,
    },
    # Report rollups from the last refresh on (incremental), then the journey map snapshots.
    "analytics.reports_rollups_refresh_all": {
        "task": "analytics.reports_rollups_refresh_all",
        "schedule": 5 * 60,
        "options": {"expires": 5 * 60},
    },
    "analytics.reports_snapshots_refresh_all": {
        "task": "analytics.reports_snapshots_refresh_all",
        "schedule": 15 * 60,
        "options": {"expires": 15 * 60},
    },
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "staticfiles"
SNIPPET_DIST = BASE_DIR / "frontend_snippet" / "dist"
# The built snippet (bin/setup builds it); until it is built the install tag says so.
STATICFILES_DIRS = [("wayline", SNIPPET_DIST)] if SNIPPET_DIST.is_dir() else []
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
# Serve straight from the finders without collectstatic in development and tests.
WHITENOISE_USE_FINDERS = DEBUG
WHITENOISE_AUTOREFRESH = DEBUG

LOGIN_URL = "admin:login"
FORMS_URLFIELD_ASSUME_HTTPS = True

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "analytics.api.errors.api_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Wayline API",
    "DESCRIPTION": "Public API of the Wayline snippet and the customer's backend.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI is served from this installation, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"()": "wayline.log_format.KeyValueFormatter", "format": "%(asctime)s %(levelname)s %(name)s %(message)s"}
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": os.environ.get("WAYLINE_LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# Production hardening: on whenever DEBUG is off, so `manage.py check --deploy` passes.
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("WAYLINE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("WAYLINE_HSTS_SECONDS", 31536000))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("WAYLINE_HSTS_PRELOAD", False)
    # Preloading is a hard-to-undo commitment for the operator's whole domain, not ours to make.
    SILENCED_SYSTEM_CHECKS = [] if SECURE_HSTS_PRELOAD else ["security.W021"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    if env_bool("WAYLINE_BEHIND_PROXY", False):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

# Where browsers reach this Wayline: used in install tags and preview links.
WAYLINE_PUBLIC_URL = os.environ.get("WAYLINE_PUBLIC_URL", "http://127.0.0.1:8000").rstrip("/")

# --- Public API: identify and event ingest (analytics.api, analytics.ingest) -------------------
# Where accepted events wait for the consumer (`manage.py consume_events` or the beat task); without
# Redis the API writes events directly to the database.
WAYLINE_EVENT_BUFFER_URL = REDIS_URL
WAYLINE_EVENT_STREAM = os.environ.get("WAYLINE_EVENT_STREAM", "wayline:events")
# Events older than this are rejected (late data would rewrite journeys and experiment windows).
WAYLINE_EVENT_MAX_AGE_DAYS = int(os.environ.get("WAYLINE_EVENT_MAX_AGE_DAYS", 30))
# How long a process trusts its cached key -> application lookups (0: no cache).
WAYLINE_KEY_CACHE_SECONDS = float(os.environ.get("WAYLINE_KEY_CACHE_SECONDS", 10))


def rate_limits(value: str, defaults: dict[str, str]) -> dict[str, str]:
    """``"publishable_key=6000/minute,client_ip=1200/minute"`` over the defaults."""
    limits = dict(defaults)
    for item in filter(None, (part.strip() for part in value.split(","))):
        name, _, rate = item.partition("=")
        count, _, period = rate.partition("/")
        if name.strip() not in defaults or not count.strip().isdigit() or not period.strip():
            raise ImproperlyConfigured(f"WAYLINE_RATE_LIMITS: {item!r} is not like publishable_key=6000/minute")
        limits[name.strip()] = rate.strip()
    return limits


# Fixed-window limits (analytics.api.throttling), counted in the default cache (Redis when REDIS_URL).
WAYLINE_RATE_LIMITS = rate_limits(
    os.environ.get("WAYLINE_RATE_LIMITS", ""),
    {"publishable_key": "6000/minute", "client_ip": "1200/minute", "secret_key": "12000/minute"},
)
WAYLINE_RATE_LIMIT_CACHE = "default"
# Each process adds its counts to the shared counters this often (and at once near a limit).
WAYLINE_RATE_LIMIT_SYNC_SECONDS = 0.25
# Dotted paths called after each write as hook(application_id=..., events=[...new events...]), and on
# merge as hook(application_id=..., source_user_id=..., target_user_id=...) — for higher apps.
WAYLINE_INGEST_HOOKS: list[str] = ["experiments.ingest_hooks.exposures_from_events"]
WAYLINE_USER_MERGE_HOOKS: list[str] = ["experiments.ingest_hooks.exposures_on_user_merge"]
# Called by analytics.privacy.end_user_erase so higher apps delete what they hold about the user.
WAYLINE_USER_ERASE_HOOKS: list[str] = ["experiments.ingest_hooks.exposures_on_user_erase"]
# bench/ingest.py's reference endpoints under /api/v1/bench/; never in production.
WAYLINE_BENCH_ROUTES = env_bool("WAYLINE_BENCH_ROUTES", False)
# Events table partitioned by month on PostgreSQL (``manage.py partition_events``; docs/scaling.md).
WAYLINE_PARTITION_EVENTS = env_bool("WAYLINE_PARTITION_EVENTS", False)
# Behind a TLS-terminating proxy, the client IP for rate limits is the one it appends to X-Forwarded-For.
REST_FRAMEWORK["NUM_PROXIES"] = 1 if env_bool("WAYLINE_BEHIND_PROXY", False) else 0
if REDIS_URL:
    # A Redis that hangs must not hang requests: fail fast (rate limits then fail open).
    CACHES["default"].setdefault("OPTIONS", {}).update({"socket_timeout": 1, "socket_connect_timeout": 1})
    CELERY_BEAT_SCHEDULE["analytics.drain_event_stream"] = {
        "task": "analytics.drain_event_stream",
        "schedule": 10.0,
        "options": {"expires": 10},
    }
# --- end of the public API block ---------------------------------------------------------------
