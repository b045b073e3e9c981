"""Private services for the load and fault scripts: their own PostgreSQL cluster and Redis, plus Wayline's
processes (gunicorn, ingest consumers, a Celery worker with beat) started on top of them.

Restarting a private PostgreSQL or Redis cannot disturb the shared ones other people and CI use, so
``bench/faults.py`` and ``tests/reliability/`` may kill them at will. The consumers and the Celery
worker run under a small supervisor that restarts them when they die, as systemd's
``Restart=always`` would in production: no fault needs a manual action to recover from.

Every wait here polls a condition against a deadline; nothing sleeps for a fixed time to let a
race settle.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_BIN = ROOT / ".venv" / "bin"
PYTHON = str(VENV_BIN / "python")


def _pg_bin() -> Path:
    """``WAYLINE_PG_BIN``, else the newest Debian PostgreSQL's programs (``/usr/lib/postgresql/<major>/bin``)."""
    if os.environ.get("WAYLINE_PG_BIN"):
        return Path(os.environ["WAYLINE_PG_BIN"])
    installed = [path.parent for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")]
    installed.sort(key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0)
    return installed[-1] if installed else Path("/usr/lib/postgresql/15/bin")


PG_BIN = _pg_bin()
STREAM = "load:events"


class ServiceError(RuntimeError):
    """A service could not be started or did not come up in time."""


def binary(path: str | Path) -> str:
    """The path of a program the scripts need; a clear error instead of a skip when it is missing."""
    found = shutil.which(str(path))
    if not found:
        raise ServiceError(f"{path} is not installed (redis-server: apt-get install redis-server; initdb/pg_ctl: "
                           "apt-get install postgresql; gunicorn/celery: .venv/bin/pip install -e '.[dev]')")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(condition, *, timeout: float, what: str, interval: float = 0.05):
    """Poll ``condition()`` until it returns something truthy; raise ``ServiceError`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise ServiceError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)  # the interval between polls, not a wait for the condition


# --- PostgreSQL -------------------------------------------------------------------------------

class PrivatePostgres:
    """A throw-away cluster (``initdb`` + ``pg_ctl``) on a free port, run as the ``postgres`` user when we are root.

    ``fsync=off``: the faults here kill processes, not the machine, and a killed PostgreSQL loses no
    committed transaction without fsync (the WAL is in the page cache); it spares the shared disk.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.data = directory / "pgdata"
        self.port = free_port()
        self.url = f"postgres://postgres@127.0.0.1:{self.port}/wayline_load"
        self._as_postgres = os.geteuid() == 0

    def _run(self, *command: str) -> None:
        prefix = ["runuser", "-u", "postgres", "--"] if self._as_postgres else []
        result = subprocess.run([*prefix, *command], capture_output=True, text=True)
        if result.returncode:
            raise ServiceError(f"{' '.join(command[:2])} failed: {result.stderr.strip() or result.stdout.strip()}")

    def init(self) -> None:
        binary(PG_BIN / "initdb")
        self.directory.mkdir(parents=True, exist_ok=True)
        if self._as_postgres:
            os.chmod(self.directory.parent, 0o711)  # mkdtemp makes it 0700: let postgres through
            shutil.chown(self.directory, "postgres")
        self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8",
                  "--no-sync", "--no-instructions")

    def start(self) -> None:
        options = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.directory} -c fsync=off "
                   "-c full_page_writes=off -c max_connections=200")
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-l", str(self.directory / "postgres.log"),
                  "-o", options, "-w", "-t", "60", "start")

    def stop(self, mode: str = "fast") -> None:
        """``mode``: ``fast`` (clean shutdown) or ``immediate`` (like a crash: recovery on the next start)."""
        self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "-t", "60", "stop")

    def restart(self, mode: str = "immediate") -> None:
        self.stop(mode)
        self.start()

    def create_database(self) -> None:
        import psycopg

        with psycopg.connect(self.url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
            connection.execute("CREATE DATABASE wayline_load")


# --- Redis ------------------------------------------------------------------------------------

class PrivateRedis:
    """``redis-server`` on a free port with an append-only file, as the event stream requires.

    ``appendonly yes``: Redis writes every command to the AOF before it answers, so a Redis killed
    with SIGKILL restarts with every stream entry it acknowledged. Without persistence a restart
    empties the stream, and with it the events accepted but not yet consumed.
    """

    def __init__(self, directory: Path):
        self.directory = directory
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        command = [binary("redis-server"), "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(self.directory),
                   "--appendonly", "yes", "--appendfsync", "everysec", "--save", "", "--daemonize", "no",
                   "--logfile", str(self.directory / "redis.log")]
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for(self.ping, timeout=30, what="redis-server to answer")

    def ping(self) -> bool:
        import redis

        try:
            return bool(redis.Redis.from_url(self.url, socket_connect_timeout=0.5, socket_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=30)

    def restart(self) -> None:
        """SIGKILL (no chance to save anything) and start again on the same port and files."""
        self.kill()
        self.start()


# --- Wayline processes -----------------------------------------------------------------------

class Supervised:
    """A process restarted whenever it exits until ``stop()``: what ``Restart=always`` does in production."""

    def __init__(self, name: str, command: list[str], *, env: dict, log: Path):
        self.name, self.command, self.env, self.log = name, command, env, log
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self.process = self._spawn()
        self._thread = threading.Thread(target=self._watch, name=f"supervise-{name}", daemon=True)
        self._thread.start()

    def _spawn(self) -> subprocess.Popen:
        with open(self.log, "ab") as log:
            return subprocess.Popen(self.command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)

    def _watch(self) -> None:
        while True:
            self.process.wait()
            with self._lock:
                if self._stopping.is_set():
                    return
                self.restarts += 1
                self.process = self._spawn()

    def kill(self) -> int:
        """SIGKILL the running process (the supervisor starts a new one); returns the killed pid."""
        pid = self.process.pid
        os.kill(pid, signal.SIGKILL)
        return pid

    def terminate(self) -> None:
        """Stop restarting it and ask it to finish (SIGTERM to its process group); ``wait()`` for the end."""
        with self._lock:
            self._stopping.set()
            if self.process.poll() is None:
                os.killpg(self.process.pid, signal.SIGTERM)

    def wait(self, timeout: float = 30) -> None:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=timeout)
        self._thread.join(timeout=timeout)


@dataclass
class Stack:
    """PostgreSQL + Redis + gunicorn + consumers + Celery, all private to one run."""

    directory: Path
    workers: int = 2
    consumers: int = 2
    claim_idle_ms: int = 60_000
    application_names: list[str] = field(default_factory=lambda: ["Load"])
    keep: bool = False  # keep the directory (data and logs) after stopping
    applications: dict = field(init=False, default_factory=dict)  # name -> {"id", "key", "guide"}
    postgres: PrivatePostgres = field(init=False)
    redis: PrivateRedis = field(init=False)
    port: int = field(init=False)
    env: dict = field(init=False)
    gunicorn: subprocess.Popen | None = field(init=False, default=None)
    drainers: list[Supervised] = field(init=False, default_factory=list)
    celery: Supervised | None = field(init=False, default=None)

    def __post_init__(self):
        for program in ("gunicorn", "celery"):
            binary(VENV_BIN / program)
        binary("redis-server")
        binary(PG_BIN / "initdb")
        self.postgres = PrivatePostgres(self.directory / "postgres")
        self.redis = PrivateRedis(self.directory / "redis")
        self.port = free_port()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.postgres.init()
        self.postgres.start()
        self.postgres.create_database()
        self.redis.start()
        self.env = {**os.environ, **server_environment(self.postgres.url, self.redis.url)}
        # gunicorn imports Wayline while the schema is migrated (its readiness probe needs no database);
        # the consumers and Celery start once the tables exist.
        command = [str(VENV_BIN / "gunicorn"), "wayline.wsgi", "-w", str(self.workers), "-k", "sync",
                   "-b", f"127.0.0.1:{self.port}", "--backlog", "2048", "--timeout", "30", "--log-level", "warning"]
        with open(self.directory / "gunicorn.log", "ab") as log:
            self.gunicorn = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.applications = self._migrate_and_create(self.application_names)
        for number in range(self.consumers):
            self.drainers.append(Supervised(
                f"consumer-{number}",
                [PYTHON, "manage.py", "consume_events", "--block-ms", "200", "--name", f"load-{number}",
                 "--claim-idle-ms", str(self.claim_idle_ms)],
                env=self.env, log=self.directory / f"consumer-{number}.log",
            ))
        self.celery = Supervised(
            "celery",
            [str(VENV_BIN / "celery"), "-A", "wayline", "worker", "-B", "--concurrency", "1", "--loglevel", "warning",
             "-s", str(self.directory / "celerybeat-schedule"), "--without-gossip", "--without-mingle"],
            env=self.env, log=self.directory / "celery.log",
        )
        wait_for(self.answers, timeout=90, what="gunicorn to answer")

    def _migrate_and_create(self, names: list[str]) -> dict[str, dict]:
        """Migrate, then one application per name with a published tour: ``{name: {"id", "key", "guide"}}``."""
        script = (
            "import json, sys, django; django.setup()\n"
            "from django.core.management import call_command\n"
            "call_command('migrate', verbosity=0)\n"
            "from onboarding.models import Guide, TourStep\n"
            "from onboarding.services import application_create, guide_publish\n"
            "out = {}\n"
            "for name in json.loads(sys.argv[1]):\n"
            "    app = application_create(name=name, allowed_origins=['https://app.load.test'])\n"
            "    guide = Guide.objects.create(application=app, kind=Guide.Kind.TOUR, name='Welcome tour')\n"
            "    TourStep.objects.create(guide=guide, order=1, selector='#start', title='Start here')\n"
            "    guide_publish(guide=guide)\n"
            "    out[name] = {'id': app.id, 'key': app.publishable_key, 'guide': guide.id}\n"
            "print(json.dumps(out))\n"
        )
        result = subprocess.run([PYTHON, "-c", script, json.dumps(names)], cwd=ROOT, env=self.env,
                                capture_output=True, text=True)
        if result.returncode:
            raise ServiceError(f"migrating or creating applications failed: {result.stderr[-2000:]}")
        return json.loads(result.stdout.strip().splitlines()[-1])

    def answers(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/api/v1/bench/noop", timeout=2) as response:
                return response.status == 204
        except OSError:
            return False

    def gunicorn_workers(self) -> list[int]:
        path = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children")
        try:
            return [int(pid) for pid in path.read_text().split()]
        except OSError:
            return []

    def stop(self) -> None:
        supervised = [*self.drainers, *([self.celery] if self.celery else [])]
        for process in supervised:
            process.terminate()
        if self.gunicorn and self.gunicorn.poll() is None:
            self.gunicorn.send_signal(signal.SIGINT)  # quick shutdown: the run is over
        for process in supervised:
            process.wait()
        if self.gunicorn:
            self.gunicorn.wait(timeout=30)
        self.redis.stop()
        try:
            self.postgres.stop("immediate")  # its data is thrown away
        except ServiceError:
            pass  # never started, or already down
        if not self.keep:
            shutil.rmtree(self.directory, ignore_errors=True)

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def server_environment(database_url: str, redis_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "DJANGO_SETTINGS_MODULE": "wayline.settings",
        "WAYLINE_SECRET_KEY": "load-only-secret-key-" + "x" * 40,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WAYLINE_SSL_REDIRECT": "0",
        "WAYLINE_BENCH_ROUTES": "1",  # /bench/noop: the readiness probe
        "WAYLINE_LOG_LEVEL": "WARNING",
        "WAYLINE_EVENT_STREAM": STREAM,
        # Every client comes from 127.0.0.1: limits on (their cost is part of each request) but out of reach.
        "WAYLINE_RATE_LIMITS": "publishable_key=1000000000/minute,client_ip=1000000000/minute",
        "PYTHONUNBUFFERED": "1",
    }


def stack_directory() -> Path:
    return Path(tempfile.mkdtemp(prefix="wayline-load-"))


if __name__ == "__main__":  # a quick manual check: start everything, print where it runs, stop
    with Stack(stack_directory()) as stack:
        print(stack.base_url, stack.postgres.url, stack.redis.url, stack.applications, file=sys.stderr)
