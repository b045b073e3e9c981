"""Benchmark of the content decision (GET /api/v1/content) beside a bare DRF endpoint.

Creates (or recreates) the PostgreSQL database ``wayline_bench``, migrates it, and seeds one
application with 200 published guides, 20 segments, the default journey, users with realistic
traits, accounts, daily event counters, guide states and checklist completions (bulk inserts),
and 5 running experiments (a global holdout and A/B tests). Then it serves Wayline with gunicorn
(sync workers) and drives both endpoints with ``wrk`` — for content, a Lua script cycling
through users (one request in ten from an unknown anonymous visitor), pages and devices — in
alternating rounds, and once more with as many connections as workers to show service time.

    .venv/bin/python bench/decide.py                     # seed, then 3 rounds of 25 s each
    .venv/bin/python bench/decide.py --reuse --duration 10 --rounds 2

Needs PostgreSQL (``--database-url``, default postgres://postgres@127.0.0.1:5432/wayline_bench)
and ``wrk`` (``apt-get install -y wrk``). Prints Markdown tables for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/wayline_bench"
APP_NAME = "Bench app"
HOST = "https://app.bench.test"
SECTIONS = ["dashboard", "inbox", "widget", "integrations", "reports", "settings", "billing", "team",
            "chatbots", "contacts", "help", "onboarding"]
PERSONAS = ["founder", "developer", "support_agent", "marketer", "non_technical_manager"]
PLANS = ["free", "starter", "pro", "team", "enterprise"]
EVENTS = ["integration_connected", "widget_customized", "teammate_invited", "chatbot_created", "report_viewed",
          "canned_reply_created", "conversation_assigned", "onboarding_started", "message_sent", "plan_upgraded"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--guides", type=int, default=200)
    parser.add_argument("--segments", type=int, default=20)
    parser.add_argument("--experiments", type=int, default=5, help="running: one holdout, the rest A/B tests")
    parser.add_argument("--duration", type=int, default=25, help="seconds of wrk per endpoint and round")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn sync workers")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--rounds", type=int, default=3, help="alternating runs of each endpoint; medians reported")
    parser.add_argument("--reuse", action="store_true", help="keep an already seeded database")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk is not installed: apt-get install -y wrk")

    env = server_environment(args.database_url)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    seeded = args.reuse and database_exists(args.database_url)
    if not seeded:
        database_recreate(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    if not seeded:
        started = time.monotonic()
        seed(users=args.users, guides=args.guides, segments=args.segments)
        seed_experiments(count=args.experiments)
        print(f"seeded in {time.monotonic() - started:.1f} s", flush=True)
    from onboarding.models import Application

    application = Application.objects.get(name=APP_NAME)
    from experiments.models import Experiment

    experiments = str(Experiment.objects.filter(application=application, status=Experiment.Status.RUNNING).count())

    with gunicorn(env, port=args.port, workers=args.workers):
        base = f"http://127.0.0.1:{args.port}"
        check_content(base, application.publishable_key)
        scripts = {"bare DRF APIView": bare_script(),
                   "content decision": content_script(application.publishable_key, args.users)}
        load_before = os.getloadavg()
        for script in scripts.values():  # warm-up: caches, connections
            run_wrk(base, script, args, duration=3)
        rounds: dict[str, list[dict]] = {name: [] for name in scripts}
        for round_number in range(args.rounds):  # alternate, so a change in machine load hits both
            for name, script in scripts.items():
                result = run_wrk(base, script, args, duration=args.duration)
                rounds[name].append(result)
                print(f"round {round_number + 1} {name}: {result}", flush=True)
        # Service time: as many connections as workers, so nothing waits in the listen queue.
        service = {name: run_wrk(base, script, args, duration=max(5, args.duration // 2), connections=args.workers)
                   for name, script in scripts.items()}
        load_after = os.getloadavg()
    report(rounds, service, args, experiments, load_before, load_after)


# --- environment and database -----------------------------------------------------------------

def server_environment(database_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "wayline.settings",
        "WAYLINE_SECRET_KEY": "bench-only-secret-key-" + "x" * 40,
        "DEBUG": "0",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "WAYLINE_SSL_REDIRECT": "0",
        "WAYLINE_BENCH_ROUTES": "1",
        "WAYLINE_LOG_LEVEL": "WARNING",
        # The rate limits stay on (their cost is part of the request) but high enough never to refuse.
        "WAYLINE_RATE_LIMITS": "publishable_key=1000000000/minute,client_ip=1000000000/minute",
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", ""),
    }


def _admin_dsn(database_url: str) -> tuple[str, str]:
    parts = urlsplit(database_url)
    return parts._replace(path="/postgres").geturl(), parts.path.lstrip("/")


def database_exists(database_url: str) -> bool:
    import psycopg

    admin, name = _admin_dsn(database_url)
    with psycopg.connect(admin, autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def database_recreate(database_url: str) -> None:
    import psycopg
    from psycopg import sql

    admin, name = _admin_dsn(database_url)
    if not re.fullmatch(r"[a-z_][a-z0-9_]*", name) or "bench" not in name:
        sys.exit(f"refusing to recreate database {name!r}: its name must contain 'bench'")
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


# --- seed data --------------------------------------------------------------------------------

def segment_rule(index: int) -> dict:
    persona, plan = PERSONAS[index % len(PERSONAS)], PLANS[index % len(PLANS)]
    event = EVENTS[index % len(EVENTS)]
    shapes = [
        {"trait": "persona", "op": "eq", "value": persona},
        {"trait": "plan", "op": "in", "value": [plan, "enterprise"]},
        {"account_trait": "size", "op": "gte", "value": 5 + index},
        {"event": event, "min_count": 1 + index % 3, "within_days": 7 + index % 3 * 7},
        {"distinct_events": EVENTS[:7], "min_count": 2 + index % 3, "within_days": 14},
        {"all": [{"trait": "role", "op": "eq", "value": "admin"}, {"not": {"event": event}}]},
        {"any": [{"account_trait": "industry", "op": "eq", "value": "saas"},
                 {"stage": "activation", "op": "reached"}]},
    ]
    return shapes[index % len(shapes)]


def seed(*, users: int, guides: int, segments: int) -> None:
    from django.db import connection
    from django.utils import timezone

    from analytics.models import Account, ChecklistItemCompletion, EndUser, GuideState, UserEventDaily
    from onboarding.models import BarButton, ChecklistItem, Guide, GuideUrlRule, Segment, TourStep
    from onboarding.services import application_create, guide_publish

    rng = random.Random(20250310)
    now = timezone.now()
    application = application_create(
        name=APP_NAME, allowed_origins=[HOST], throttle_per_hour=3, throttle_per_day=8
    )
    stages = list(application.stages.order_by("order"))
    segment_rows = Segment.objects.bulk_create(
        Segment(application=application, name=f"Segment {i}", slug=f"segment-{i}", rule=segment_rule(i))
        for i in range(segments)
    )
    kinds = [Guide.Kind.TOUR, Guide.Kind.CHECKLIST, Guide.Kind.BAR, Guide.Kind.SURVEY]
    frequencies = [Guide.Frequency.UNTIL_DONE, Guide.Frequency.ONCE, Guide.Frequency.EVERY_SESSION,
                   Guide.Frequency.MAX_TIMES]
    guide_rows = []
    for i in range(guides):
        kind = kinds[i % len(kinds)]
        frequency = rng.choice(frequencies)
        scheduled = rng.random() < 0.1
        guide_rows.append(Guide(
            application=application, kind=kind, name=f"{kind} {i}",
            segment=rng.choice(segment_rows) if rng.random() < 0.5 else None,
            device=rng.choices(["any", "desktop", "mobile"], [7, 2, 1])[0],
            trigger=Guide.Trigger.MANUAL if rng.random() < 0.1 else rng.choice(["page_load", "page_load", "element"]),
            trigger_selector="#app .main",
            frequency=frequency, max_times=3 if frequency == Guide.Frequency.MAX_TIMES else None,
            priority=rng.randint(-5, 10),
            starts_at=now - timedelta(days=5) if scheduled else None,
            ends_at=now + timedelta(days=rng.choice([-1, 30])) if scheduled else None,
            bar_message="<p>New: <strong>reports</strong> are faster.</p>",
            survey_question="How likely are you to recommend us?",
        ))
    guide_rows = Guide.objects.bulk_create(guide_rows)
    steps, items, buttons, url_rules = [], [], [], []
    for guide in guide_rows:
        if guide.kind == Guide.Kind.TOUR:
            steps += [TourStep(guide=guide, order=n, selector=f"#step-{n}", title=f"Step {n}",
                               body="<p>Click <em>here</em> to continue.</p>") for n in range(3)]
        elif guide.kind == Guide.Kind.CHECKLIST:
            items += [ChecklistItem(guide=guide, order=n, title=f"Do {EVENTS[n]}", completion_event=EVENTS[n])
                      for n in range(4)]
        elif guide.kind == Guide.Kind.BAR:
            buttons.append(BarButton(guide=guide, order=0, label="Read more", url="https://example.com/news"))
        if rng.random() < 0.7:
            for _ in range(rng.choice([1, 2])):
                section = rng.choice(SECTIONS)
                match_type, pattern = rng.choice([
                    ("prefix", f"/{section}"), ("glob", f"/{section}/*"), ("exact", f"/{section}"),
                    ("regex", rf"^/({section}|{rng.choice(SECTIONS)})(/|$)"),
                ])
                url_rules.append(GuideUrlRule(guide=guide, match_type=match_type, pattern=pattern))
        if rng.random() < 0.2:
            url_rules.append(GuideUrlRule(guide=guide, match_type="prefix", pattern="/billing", exclude=True))
    TourStep.objects.bulk_create(steps)
    ChecklistItem.objects.bulk_create(items)
    BarButton.objects.bulk_create(buttons)
    GuideUrlRule.objects.bulk_create(url_rules)
    for guide in guide_rows:
        if rng.random() < 0.6:
            guide.stages.set(rng.sample(stages, rng.choice([1, 2])))
        guide_publish(guide=guide)

    accounts = Account.objects.bulk_create(
        Account(application=application, external_id=f"account-{i}",
                traits={"size": rng.randint(1, 500), "industry": rng.choice(["saas", "retail", "health"]),
                        "plan": rng.choice(PLANS)})
        for i in range(max(1, users // 10))
    )
    user_rows = EndUser.objects.bulk_create(
        (EndUser(application=application, external_id=f"bench-user-{i}", account=rng.choice(accounts),
                 stage=rng.choices(stages, [30, 25, 20, 10, 8, 5, 2])[0], first_seen_at=now, last_seen_at=now,
                 traits={"persona": rng.choice(PERSONAS), "role": rng.choice(["admin", "member"]),
                         "plan": rng.choice(PLANS), "email": f"user{i}@example.com", "seats": rng.randint(1, 50)})
         for i in range(users)),
        batch_size=2000,
    )
    checklist_items = [item for item in ChecklistItem.objects.filter(guide__application=application)]
    live_ids = [guide.id for guide in guide_rows]
    daily, states, completions = [], [], []
    today = now.date()
    for index, user in enumerate(user_rows):
        for name in rng.sample(EVENTS, rng.randint(2, 8)):
            for offset in rng.sample(range(60), rng.randint(1, 12)):
                daily.append(UserEventDaily(user=user, name=name, day=today - timedelta(days=offset),
                                            count=rng.randint(1, 6)))
        for guide_id in rng.sample(live_ids, rng.randint(0, 12)):
            seen_at = now - timedelta(minutes=rng.randint(1, 60 * 24 * 10))
            states.append(GuideState(
                user=user, guide_id=guide_id, seen_count=rng.randint(1, 4), first_seen_at=seen_at,
                last_seen_at=seen_at, last_session_id=f"sess-{index}-{rng.randint(0, 3)}",
                dismissed_at=seen_at + timedelta(seconds=30) if rng.random() < 0.3 else None,
                completed_at=seen_at + timedelta(minutes=2) if rng.random() < 0.2 else None,
            ))
        for item in rng.sample(checklist_items, min(len(checklist_items), rng.randint(0, 6))):
            completions.append(ChecklistItemCompletion(user=user, item=item, completed_at=now))
    UserEventDaily.objects.bulk_create(daily, batch_size=5000)
    GuideState.objects.bulk_create(states, batch_size=5000)
    ChecklistItemCompletion.objects.bulk_create(completions, batch_size=5000)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    print(f"seeded {guides} guides, {segments} segments, {users} users, {len(daily)} daily counters, "
          f"{len(states)} guide states, {len(completions)} checklist completions", flush=True)


def seed_experiments(*, count: int) -> None:
    """``count`` running experiments: a 10 % global holdout, then A/B tests of two live guides each."""
    from experiments.models import Experiment, Metric, Variant
    from experiments.services import experiment_start
    from onboarding.models import Application, Guide

    rng = random.Random(7)
    application = Application.objects.get(name=APP_NAME)
    automatic = list(Guide.objects.filter(application=application, live_version__isnull=False)
                     .exclude(trigger=Guide.Trigger.MANUAL).order_by("id"))
    pairs = iter(rng.sample(automatic, 2 * count))
    for index in range(count):
        holdout = index == 0
        experiment = Experiment.objects.create(
            application=application, name=f"Experiment {index}", kind="holdout" if holdout else "ab",
            traffic_share=0.1 if holdout else 1.0, hypothesis="Guidance raises adoption.",
        )
        control, treatment = (None, None) if holdout else (next(pairs), next(pairs))
        Variant.objects.create(experiment=experiment, key="control", name="Control", is_control=True, guide=control)
        Variant.objects.create(experiment=experiment, key="treatment", name="Treatment", guide=treatment)
        Metric.objects.create(experiment=experiment, name="Adoption", kind=Metric.Kind.ADOPTION,
                              event_name="integration_connected", window_days=14)
        experiment_start(experiment=experiment)
    print(f"seeded {count} running experiments", flush=True)


# --- server and load --------------------------------------------------------------------------

class gunicorn:
    def __init__(self, env: dict[str, str], *, port: int, workers: int):
        self.command = [
            str(ROOT / ".venv" / "bin" / "gunicorn"), "wayline.wsgi:application",
            "--bind", f"127.0.0.1:{port}", "--workers", str(workers), "--worker-class", "sync",
            "--backlog", "2048", "--log-level", "warning",
        ]
        self.env, self.port = {**os.environ, **env}, port

    def __enter__(self):
        self.process = subprocess.Popen(self.command, cwd=ROOT, env=self.env, start_new_session=True)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.port}/api/v1/bench/bare", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.2)  # polling a child process that is starting up, not a test
        self.__exit__()
        sys.exit("gunicorn did not start")

    def __exit__(self, *exc):
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=30)


def check_content(base: str, key: str) -> None:
    request = urllib.request.Request(
        f"{base}/api/v1/content?user_id=bench-user-1&url={HOST}/reports&device=desktop&session_id=s",
        headers={"X-Wayline-Key": key},
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        body = json.loads(response.read())
    print(f"content check: HTTP {response.status}, {len(body['guides'])} guides", flush=True)


def bare_script() -> str:
    return 'request = function() return wrk.format("GET", "/api/v1/bench/bare") end\n'


def content_script(key: str, users: int) -> str:
    pages = ", ".join(f'"{HOST}/{section}{suffix}"' for section in SECTIONS for suffix in ("", "/detail"))
    return f"""
local pages = {{{pages}}}
local n = 0
local offset = 0
function init(args)
  offset = math.random(1, 1000000)
end
local function escape(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end
request = function()
  n = n + 1
  local i = (offset + n * 7919) % {users}
  local who
  if n % 10 == 0 then who = "anonymous_id=anon-" .. offset .. "-" .. n else who = "user_id=bench-user-" .. i end
  local page = pages[(n % #pages) + 1]
  local device = (n % 7 == 0) and "mobile" or "desktop"
  local path = "/api/v1/content?" .. who .. "&url=" .. escape(page) .. "&device=" .. device ..
               "&session_id=sess-" .. i .. "-" .. (n % 4)
  return wrk.format("GET", path, {{["X-Wayline-Key"] = "{key}"}})
end
"""


def run_wrk(base: str, script: str, args, *, duration: int, connections: int | None = None) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as handle:
        handle.write(script)
    connections = connections or args.connections
    threads = min(args.threads, connections)
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "-s", handle.name, base]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    os.unlink(handle.name)
    return parse_wrk(output)


def parse_wrk(output: str) -> dict:
    def ms(value: str) -> float:
        number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", value).groups()
        return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    percentiles = {p: ms(v) for p, v in re.findall(r"^\s+(50|75|90|99)%\s+(\S+)", output, re.M)}
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    socket_errors = re.search(r"Socket errors: (.*)", output)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1)),
        "requests": int(re.search(r"(\d+) requests in", output).group(1)),
        "p50_ms": percentiles.get("50"),
        "p90_ms": percentiles.get("90"),
        "p99_ms": percentiles.get("99"),
        "non_2xx": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
    }


def report(rounds: dict, service: dict, args, experiments: str, load_before, load_after) -> None:
    def median(results: list[dict], field: str) -> float:
        return statistics.median(result[field] for result in results)

    bare, content = rounds["bare DRF APIView"], rounds["content decision"]
    print(f"\n{args.connections} connections, {args.rounds} alternating rounds of {args.duration} s (medians):\n")
    print("| endpoint | requests/s | p50 ms | p90 ms | p99 ms | requests/s per round | non-2xx |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for name, results in rounds.items():
        per_round = ", ".join(f"{result['rps']:.0f}" for result in results)
        print(f"| {name} | {median(results, 'rps'):.0f} | {median(results, 'p50_ms'):.2f} | "
              f"{median(results, 'p90_ms'):.2f} | {median(results, 'p99_ms'):.2f} | {per_round} | "
              f"{sum(result['non_2xx'] for result in results)} |")
    ratios = [c["rps"] / b["rps"] for b, c in zip(bare, content)]
    print(f"\ncontent / bare: median {statistics.median(ratios):.0%} (rounds: "
          f"{', '.join(f'{ratio:.0%}' for ratio in ratios)}; target ≥ 50 %); "
          f"content p99 {median(content, 'p99_ms'):.1f} ms (target < 25 ms)")
    print(f"\n{args.workers} connections (service time, nothing queued):\n")
    print("| endpoint | requests/s | p50 ms | p90 ms | p99 ms |")
    print("|---|---:|---:|---:|---:|")
    for name, result in service.items():
        print(f"| {name} | {result['rps']:.0f} | {result['p50_ms']:.2f} | {result['p90_ms']:.2f} | "
              f"{result['p99_ms']:.2f} |")
    print(f"\nusers {args.users}, guides {args.guides}, segments {args.segments}, running experiments "
          f"{experiments}; gunicorn {args.workers} sync workers; wrk -t{args.threads}; {os.cpu_count()} CPUs; "
          f"load average before {load_before[0]:.1f}, after {load_after[0]:.1f}")


if __name__ == "__main__":
    main()
