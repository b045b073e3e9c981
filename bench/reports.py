"""Benchmark of the journey analytics reports on PostgreSQL beside DuckDB over the same rows.

Creates (or recreates) the PostgreSQL database ``wayline_bench_reports``, migrates it and loads
one application with ``--users`` users (default 200,000) and about ``--events-per-user`` events
each (default 10, so 2M events), their stage transitions, guide states and survey answers, all
with ``COPY``. Then it builds the report rollups and the snapshots, times every report cold (first
call on a new connection) and warm (median of three more calls), exports the same raw rows to Parquet and
times DuckDB doing each report's core aggregation over them, and prints a Markdown table for
docs/benchmarks.md with the ratio PostgreSQL / DuckDB.

    .venv/bin/python bench/reports.py                  # 200k users, 2M events
    .venv/bin/python bench/reports.py --users 20000    # a quick run
    .venv/bin/python bench/reports.py --reuse          # keep the loaded database
    .venv/bin/python bench/reports.py --database-url postgres://postgres@127.0.0.1:5432/wayline_scale \
        --application "<name>"                          # an existing dataset (never reloaded)

Pages as opened are served from snapshots that Celery refreshes: "page" times reading one (what
opening a page costs), "computed" times computing the report from the rollups (what any other
period, segment or variant costs, and what the snapshot refresh costs).

"Cold" is a new database session, not a cold operating-system page cache (which needs root and
a restart of PostgreSQL); the data were just loaded, so most of it is in memory either way.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/wayline_bench_reports"
NOW = datetime(2026, 6, 1, tzinfo=UTC)
DAYS = 150
PERSONAS = ["founder", "developer", "support_agent", "marketer", "non_technical_manager"]
FEATURES = ["integration_connected", "widget_customized", "teammate_invited", "chatbot_created", "report_viewed",
            "canned_reply_created", "conversation_assigned"]
# event name, share of events
EVENT_MIX = [("$pageview", 0.38), *[(f, 0.05) for f in FEATURES], ("onboarding_started", 0.04),
             ("$guide_shown", 0.05), ("$guide_step_viewed", 0.08), ("$cta_clicked", 0.02),
             ("subscription_paid", 0.04), ("message_sent", 0.04)]
NULL = "\\N"  # COPY's text format for a missing value
STAGE_SHARES = [0.35, 0.25, 0.2, 0.1, 0.06, 0.03, 0.01]  # furthest stage reached, signup … advocacy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--users", type=int, default=200_000)
    parser.add_argument("--events-per-user", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="keep an already loaded database")
    parser.add_argument("--keep-rollups", action="store_true", help="with --reuse: do not rebuild the rollups")
    parser.add_argument("--only-page-rollups", action="store_true",
                        help="with --reuse: keep the daily rollups, build only the per-user and cohort ones")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--application", help="measure this existing application (implies --reuse; never loads)")
    parser.add_argument("--repeat", type=int, default=3, help="warm calls per measurement (their median)")
    args = parser.parse_args()
    if args.application:
        args.reuse = True

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wayline.settings")
    os.environ.setdefault("WAYLINE_LOG_LEVEL", "WARNING")
    sys.path.insert(0, str(ROOT))
    loaded = args.reuse and _database_exists(args.database_url)
    if args.application and not loaded:
        sys.exit(f"no database at {args.database_url}")
    if not loaded:
        _recreate_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from onboarding.models import Application

    name = args.application or "Bench reports"
    if loaded and Application.objects.filter(name=name).exists():
        application = Application.objects.get(name=name)
        print(f"reusing {args.database_url}")
    elif args.application:
        sys.exit(f"no application named {name!r}")
    else:
        started = time.perf_counter()
        application = _load(args.users, args.events_per_user, np.random.default_rng(args.seed))
        print(f"loaded in {time.perf_counter() - started:.1f} s")
    _run(application, args)


def _database_exists(url: str) -> bool:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def _recreate_database(url: str) -> None:
    import psycopg

    name = url.rsplit("/", 1)[1]
    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- data --------------------------------------------------------------------------------------

def _copy(table: str, columns: list[str], lines) -> int:
    from django.db import connection

    buffer, count = io.StringIO(), 0
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for line in lines:
            buffer.write(line)
            count += 1
            if count % 50_000 == 0:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())
    return count


def _ts(value: datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S.%f+00")


def _load(users: int, per_user: int, rng: np.random.Generator):
    from django.db import connection

    from analytics.models import EndUser
    from onboarding.models import ChecklistItem, Guide, Segment, TourStep
    from onboarding.services import application_create, guide_publish

    application = application_create(name="Bench reports")
    stages = list(application.stages.order_by("order"))
    for persona in PERSONAS[:3]:
        Segment.objects.create(application=application, name=persona.title(), slug=persona, is_persona=True,
                               rule={"trait": "persona", "op": "eq", "value": persona})
    tour = Guide.objects.create(application=application, kind="tour", name="Welcome tour",
                                goal_event="integration_connected")
    for order in range(3):
        TourStep.objects.create(guide=tour, order=order, selector=f"#s{order}", title=f"Step {order}")
    tour.stages.set([stages[1]])
    checklist = Guide.objects.create(application=application, kind="checklist", name="Setup checklist")
    ChecklistItem.objects.create(guide=checklist, order=1, title="Connect", completion_event="integration_connected")
    checklist.stages.set([stages[1], stages[2]])
    bar = Guide.objects.create(application=application, kind="bar", name="Upgrade bar",
                               bar_message="<p>Upgrade</p>", goal_event="plan_upgraded")
    survey = Guide.objects.create(application=application, kind="survey", name="NPS",
                                  survey_question="How likely are you to recommend us?")
    for guide in (tour, checklist, bar, survey):
        guide_publish(guide=guide)
    guides = [tour.id, checklist.id, bar.id, survey.id]

    # Users: first seen over DAYS days, a persona, a furthest stage.
    origin = NOW - timedelta(days=DAYS)
    first_seen_days = rng.uniform(0, DAYS, users)
    first_seen = [origin + timedelta(days=float(x)) for x in first_seen_days]
    persona = rng.integers(0, len(PERSONAS), users)
    furthest = rng.choice(len(stages), users, p=STAGE_SHARES)
    gaps = rng.exponential(2.0, (users, len(stages)))  # days between stages
    gaps[:, 0] = 0
    entered = np.cumsum(gaps, axis=1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('analytics_enduser', 'id'))")
        first_id = cursor.fetchone()[0]
    ids = np.arange(first_id, first_id + users)
    now_s = _ts(NOW)

    def user_lines():
        for i in range(users):
            reached = [k for k in range(furthest[i] + 1) if first_seen[i] + timedelta(days=entered[i, k]) < NOW]
            stage = stages[reached[-1]].id if reached else NULL
            entered_at = _ts(first_seen[i] + timedelta(days=float(entered[i, reached[-1]]))) if reached else NULL
            traits = json.dumps({"persona": PERSONAS[persona[i]], "seats": int(1 + i % 20)})
            yield (f"{ids[i]}\t{application.id}\tu{i}\t{traits}\t{stage}\t{entered_at}\t"
                   f"{_ts(first_seen[i])}\t{now_s}\t{now_s}\t{now_s}\n")

    _copy("analytics_enduser", ["id", "application_id", "external_id", "traits", "stage_id", "stage_entered_at",
                                "first_seen_at", "last_seen_at", "created_at", "updated_at"], user_lines())
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval(pg_get_serial_sequence('analytics_enduser', 'id'), %s)", [int(ids[-1])])

    def transition_lines():
        for i in range(users):
            previous = NULL
            for k in range(furthest[i] + 1):
                at = first_seen[i] + timedelta(days=float(entered[i, k]))
                if at >= NOW:
                    break
                yield f"{application.id}\t{ids[i]}\t{previous}\t{stages[k].id}\t{_ts(at)}\t{now_s}\n"
                previous = stages[k].id

    _copy("analytics_stagetransition", ["application_id", "user_id", "from_stage_id", "to_stage_id", "at",
                                        "created_at"], transition_lines())

    counts = rng.poisson(per_user, users)
    total = int(counts.sum())
    owner = np.repeat(np.arange(users), counts)
    # Days after first seen, front-loaded (most activity comes early) and never after NOW.
    offsets = rng.uniform(0, 1, total) ** 2 * (DAYS - first_seen_days[owner])
    names, shares = zip(*EVENT_MIX)
    kinds = rng.choice(len(names), total, p=np.array(shares) / sum(shares))
    steps = rng.integers(0, 3, total)
    guide_pick = rng.integers(0, len(guides), total)

    # Written in time order, as the ingest path appends them (so the BRIN index on time works).
    when = first_seen_days[owner] + offsets
    order = np.argsort(when, kind="stable")

    def event_lines():
        for j in order:
            i = owner[j]
            at = origin + timedelta(days=float(when[j]))
            name = names[kinds[j]]
            if name == "$guide_step_viewed":
                props = f'{{"guide_id": {guides[0]}, "step_index": {int(steps[j])}}}'
            elif name in ("$guide_shown", "$cta_clicked"):
                props = f'{{"guide_id": {guides[guide_pick[j]]}}}'
            elif name == "subscription_paid":
                props = '{"amount": 49}'
            else:
                props = "{}"
            stamp = _ts(at)
            yield f"{uuid.uuid4()}\t{application.id}\t{ids[i]}\t{name}\t{stamp}\t{stamp}\tf\t{props}\t\t\n"

    _copy("analytics_event", ["id", "application_id", "user_id", "name", "timestamp", "received_at",
                              "timestamp_clamped", "properties", "url", "session_id"], event_lines())

    shown = rng.random((users, len(guides))) < 0.3
    done = rng.random((users, len(guides)))

    def state_lines():
        for i in range(users):
            for g, guide_id in enumerate(guides):
                if not shown[i, g]:
                    continue
                seen = first_seen[i] + timedelta(hours=float(done[i, g]) * 72)
                if seen >= NOW:
                    continue
                completed = _ts(seen + timedelta(minutes=5 + 60 * float(done[i, g]))) if done[i, g] < 0.4 else NULL
                dismissed = _ts(seen + timedelta(minutes=1)) if 0.4 <= done[i, g] < 0.7 else NULL
                yield (f"{ids[i]}\t{guide_id}\t1\t{_ts(seen)}\t{_ts(seen)}\t\t{dismissed}\t{completed}\t0\n")

    _copy("analytics_guidestate", ["user_id", "guide_id", "seen_count", "first_seen_at", "last_seen_at",
                                   "last_session_id", "dismissed_at", "completed_at", "render_failed_count"],
          state_lines())

    answered = np.flatnonzero(shown[:, 3] & (rng.random(users) < 0.3))
    scores = rng.choice(11, len(answered), p=np.array([1, 1, 1, 1, 1, 2, 3, 6, 8, 9, 8]) / 41)

    def survey_lines():
        for n, i in enumerate(answered):
            at = min(first_seen[i] + timedelta(days=3 + n % 40), NOW - timedelta(hours=1))
            comment = "too slow to set up" if scores[n] <= 6 and n % 3 == 0 else ""
            stage = stages[min(furthest[i], 2)].slug
            yield (f"{application.id}\t{guides[3]}\t{ids[i]}\t{uuid.uuid4()}\tnps\t{int(scores[n])}\t{comment}\t"
                   f"{stage}\t{_ts(at)}\n")

    _copy("analytics_surveyresponse", ["application_id", "guide_id", "user_id", "event_id", "kind", "score",
                                       "comment", "stage_slug", "responded_at"], survey_lines())
    with connection.cursor() as cursor:
        # VACUUM also summarises the new BRIN ranges (autovacuum would, later), so time scans use them.
        cursor.execute("VACUUM ANALYZE")
    print(f"{users:,} users, {total:,} events, {EndUser.objects.count():,} user rows")
    return application


# --- measurements ------------------------------------------------------------------------------

def _timed(call) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def _run(application, args) -> None:
    from django.db import connection

    from analytics.models import EndUser, Event
    from analytics.reports.filters import ReportFilters
    from analytics.reports.registry import REPORTS
    from analytics.reports.rollups import rollups_refresh
    from analytics.reports.snapshots import SNAPSHOT_DAYS, report_snapshot_get, report_snapshot_refresh

    last = Event.objects.filter(application=application).order_by("-timestamp").values_list("timestamp", flat=True)[:1]
    now = last[0] + timedelta(hours=1) if args.application else NOW  # an existing dataset ends when it ends
    users = EndUser.objects.filter(application=application).count()
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'analytics_event'")
        events = cursor.fetchone()[0]
    if args.reuse and args.keep_rollups:
        full = incremental = float("nan")
        print("rollups kept")
    elif args.reuse and args.only_page_rollups:
        full = _timed(lambda: _page_rollups_build(application.id))
        incremental = _timed(lambda: rollups_refresh(application_id=application.id, since=now - timedelta(days=2),
                                                     now=now))
        print(f"rollups: per-user and cohort build {full:.2f} s, incremental (2 days, all) {incremental:.2f} s",
              flush=True)
    else:
        full = _timed(lambda: rollups_refresh(application_id=application.id, since=None, now=now))
        incremental = _timed(lambda: rollups_refresh(application_id=application.id, since=now - timedelta(days=2),
                                                     now=now))
        print(f"rollups: full build {full:.2f} s, incremental (2 days) {incremental:.2f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would: visibility map for index-only scans
    load_before = os.getloadavg()
    print(f"load average before the reports: {load_before[0]:.1f} on {os.cpu_count()} cores", flush=True)
    # The pages' default period: the last SNAPSHOT_DAYS days up to now.
    filters = ReportFilters.build(application_id=application.id,
                                  start=now.date() - timedelta(days=SNAPSHOT_DAYS - 1), end=now.date(), now=now)
    started = time.perf_counter()
    for name in REPORTS:
        report_snapshot_refresh(application_id=application.id, report=name, now=now)
    snapshot_seconds = time.perf_counter() - started
    print(f"snapshots of every report refreshed in {snapshot_seconds:.2f} s", flush=True)

    def cold_warm(call) -> tuple[float, float]:
        connection.close()
        cold = _timed(call)
        return cold, statistics.median(_timed(call) for _ in range(args.repeat))

    page, computed = {}, {}
    for name, spec in REPORTS.items():
        page[name] = cold_warm(lambda: report_snapshot_get(application_id=application.id, report=name, now=now))
        computed[name] = cold_warm(lambda: spec.build(filters=filters))
        print(f"  {name:<17} page cold {page[name][0]:6.3f} s  warm {page[name][1]:6.3f} s   "
              f"computed cold {computed[name][0]:6.2f} s  warm {computed[name][1]:6.2f} s", flush=True)
    load_after = os.getloadavg()
    duck = _duckdb(application, filters, now, args.repeat)
    print()
    print(f"Reports on {users:,} users / ~{events:,} events (PostgreSQL {connection.pg_version // 10000}; "
          f"range {filters.start} … {filters.end}); rollups: full {full:.1f} s, incremental {incremental:.2f} s; "
          f"snapshots of every report {snapshot_seconds:.1f} s; load average {load_before[0]:.1f} before, "
          f"{load_after[0]:.1f} after the PostgreSQL timings")
    print()
    print("| report | page cold (s) | page warm (s) | computed cold (s) | computed warm (s) | DuckDB cold (s) "
          "| DuckDB warm (s) | computed warm / DuckDB warm |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in REPORTS:
        d_cold, d_warm = duck.get(name, (None, None))
        duck_cells = f"{d_cold:.3f} | {d_warm:.3f} | {computed[name][1] / d_warm:.1f}×" if d_warm else "— | — | —"
        print(f"| {name} | {page[name][0]:.3f} | {page[name][1]:.3f} | {computed[name][0]:.2f} | "
              f"{computed[name][1]:.2f} | {duck_cells} |")
    results = {"database": args.database_url.rsplit("/", 1)[1], "users": users, "events": events,
               "start": filters.start, "end": filters.end, "rollups_full_s": full, "rollups_incremental_s": incremental,
               "snapshots_refresh_s": snapshot_seconds, "load_before": load_before, "load_after": load_after,
               "page": page, "computed": computed, "duckdb": duck}
    out = ROOT / "var" / f"bench-reports-{results['database']}.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2, default=str))


def _page_rollups_build(application_id: int) -> None:
    """The per-user and cohort rollups from scratch, for a dataset whose daily rollups are already built."""
    from django.db import connection, transaction

    from analytics.reports import rollups_cohorts, rollups_users
    from analytics.reports.rollups import ROLLUP_MODELS, _foreign_keys_checked_at_once

    with transaction.atomic():
        _foreign_keys_checked_at_once()
        for model in ROLLUP_MODELS[3:]:
            model.objects.filter(application_id=application_id).delete()
        for build in (rollups_users.guide_events_build, rollups_users.feature_weeks_build,
                      rollups_users.month_revenue_build):
            started = time.perf_counter()
            build(application_id=application_id, since=None)
            print(f"  {build.__name__} {time.perf_counter() - started:.1f} s", flush=True)
        for build in (rollups_cohorts.cohort_stages_build, rollups_cohorts.cohort_activity_build):
            started = time.perf_counter()
            build(application_id=application_id, since_day=None)
            print(f"  {build.__name__} {time.perf_counter() - started:.1f} s", flush=True)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE " + ", ".join(model._meta.db_table for model in ROLLUP_MODELS[3:]))


EXPORTS = {
    "events": "SELECT user_id, name, timestamp, properties::text AS properties FROM analytics_event",
    "users": "SELECT id, first_seen_at, traits::text AS traits, stage_id FROM analytics_enduser",
    "transitions": "SELECT id, user_id, to_stage_id, at AS entered FROM analytics_stagetransition",
    "stages": 'SELECT id, "order" AS ord, slug FROM onboarding_journeystage',
    "guide_states": "SELECT user_id, guide_id, first_seen_at, completed_at, dismissed_at FROM analytics_guidestate",
    "guides": "SELECT id, kind FROM onboarding_guide",
    "responses": "SELECT id, user_id, guide_id, kind, score, responded_at FROM analytics_surveyresponse",
}


def _duckdb(application, filters, now, repeat: int) -> dict[str, tuple[float, float]]:
    import duckdb
    from django.db import connection

    folder = Path(tempfile.mkdtemp(prefix="wayline-bench-"))
    started = time.perf_counter()
    con = duckdb.connect()
    for table, query in EXPORTS.items():
        csv_path = folder / f"{table}.csv"
        with connection.cursor() as cursor, open(csv_path, "wb") as out:
            with cursor.cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT csv, HEADER)") as copy:
                for chunk in copy:
                    out.write(chunk)
        con.execute(f"COPY (SELECT * FROM read_csv_auto('{csv_path}', header=true)) "
                    f"TO '{folder / (table + '.parquet')}' (FORMAT parquet)")
        csv_path.unlink()
    print(f"exported to Parquet in {time.perf_counter() - started:.1f} s ({folder})")
    con.close()
    start, end = filters.start.isoformat(), (filters.end + timedelta(days=1)).isoformat()
    views = "".join(f"CREATE VIEW {t} AS SELECT * FROM read_parquet('{folder / (t + '.parquet')}');" for t in EXPORTS)
    queries = {
        "funnel": f"""SELECT furthest, COUNT(*) FROM (SELECT u.id, COALESCE(MAX(s.ord), 0) AS furthest FROM users u
            LEFT JOIN transitions t ON t.user_id = u.id LEFT JOIN stages s ON s.id = t.to_stage_id
            WHERE u.first_seen_at >= '{start}' AND u.first_seen_at < '{end}' GROUP BY u.id) GROUP BY 1""",
        "time-in-stage": f"""WITH st AS (SELECT to_stage_id, entered, LEAD(entered) OVER (PARTITION BY user_id ORDER BY entered, id)
            AS next_at FROM transitions)
            SELECT to_stage_id, next_at IS NULL, ROUND(epoch(COALESCE(next_at, TIMESTAMPTZ '{now.isoformat()}') - entered)
            / 60) * 60 AS d, COUNT(*) FROM st WHERE entered >= '{start}' AND entered < '{end}' GROUP BY ALL""",
        "guides": f"""SELECT gs.guide_id, COUNT(*), SUM(CASE WHEN gs.completed_at IS NOT NULL THEN 1 ELSE 0 END),
            SUM(CASE WHEN EXISTS (SELECT 1 FROM events e WHERE e.user_id = gs.user_id AND e.name = '$guide_step_viewed'
              AND json_extract_string(e.properties, '$.guide_id') = CAST(gs.guide_id AS VARCHAR)
              AND CAST(json_extract(e.properties, '$.step_index') AS INTEGER) >= 1) THEN 1 ELSE 0 END),
            median(epoch(gs.completed_at - gs.first_seen_at))
            FROM guide_states gs WHERE gs.first_seen_at >= '{start}' AND gs.first_seen_at < '{end}' GROUP BY 1""",
        "feature-adoption": f"""WITH active AS (SELECT DISTINCT user_id FROM events
              WHERE timestamp >= '{start}' AND timestamp < '{end}')
            SELECT name, COUNT(DISTINCT user_id), (SELECT COUNT(*) FROM active) FROM events
            WHERE timestamp >= '{start}' AND timestamp < '{end}' AND name IN ({", ".join(f"'{f}'" for f in FEATURES)})
            GROUP BY name""",
        "aha": f"""WITH s AS (SELECT id, first_seen_at FROM users WHERE first_seen_at >= '{start}'
              AND first_seen_at < '{end}' ORDER BY (id * 2654435761) % 4294967296 LIMIT 50000)
            SELECT s.id, e.name, COUNT(*) FROM s JOIN events e ON e.user_id = s.id
            WHERE e.timestamp >= s.first_seen_at AND e.timestamp < s.first_seen_at + INTERVAL 7 DAY
              AND e.name NOT LIKE '$%' GROUP BY ALL""",
        "nps": f"""SELECT CAST(period AS DATE), SUM(CASE WHEN score >= 9 THEN 1 ELSE 0 END), SUM(CASE WHEN score <= 6 THEN 1 ELSE 0 END),
            COUNT(*) FROM (SELECT score, date_trunc('month', responded_at) AS period, ROW_NUMBER() OVER (
              PARTITION BY user_id, guide_id, date_trunc('month', responded_at) ORDER BY responded_at DESC, id DESC) AS rn
            FROM responses WHERE responded_at >= '{start}' AND responded_at < '{end}') WHERE rn = 1 GROUP BY 1""",
        "retention": f"""SELECT CAST(date_trunc('week', u.first_seen_at) AS DATE), (CAST(e.timestamp AS DATE)
              - CAST(u.first_seen_at AS DATE)) // 7 AS k, COUNT(DISTINCT u.id)
            FROM users u JOIN events e ON e.user_id = u.id
            WHERE u.first_seen_at >= '{start}' AND u.first_seen_at < '{end}' GROUP BY ALL HAVING k <= 8""",
        "paths": f"""WITH s AS (SELECT id FROM users WHERE first_seen_at >= '{start}' AND first_seen_at < '{end}'
              ORDER BY (id * 2654435761) % 4294967296 LIMIT 20000),
            items AS (SELECT user_id, entered, to_stage_id AS ref FROM transitions WHERE user_id IN (SELECT id FROM s)
              UNION ALL SELECT user_id, first_seen_at, guide_id FROM guide_states WHERE user_id IN (SELECT id FROM s))
            SELECT user_id, ref FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY entered) AS rn FROM items)
            WHERE rn <= 18 ORDER BY user_id, rn""",
        "revenue": f"""WITH paid AS (SELECT user_id, date_trunc('month', timestamp) AS m,
              SUM(CAST(json_extract(properties, '$.amount') AS DOUBLE)) AS amount FROM events
              WHERE name = 'subscription_paid' AND timestamp >= '{start}' AND timestamp < '{end}' GROUP BY ALL)
            SELECT CAST(a.m AS DATE), COUNT(*), SUM(a.amount), SUM(CASE WHEN b.user_id IS NULL THEN 1 ELSE 0 END)
            FROM paid a LEFT JOIN paid b ON b.user_id = a.user_id AND b.m = a.m + INTERVAL 1 MONTH GROUP BY 1""",
    }
    results = {}
    for name, query in queries.items():
        con = duckdb.connect()
        con.execute("SET TimeZone = 'UTC'")
        con.execute(views)
        cold = _timed(lambda: con.execute(query).fetchall())
        warm = statistics.median(_timed(lambda: con.execute(query).fetchall()) for _ in range(repeat))
        con.close()
        results[name] = (cold, warm)
        print(f"  duckdb {name:<17} cold {cold:7.2f} s   warm {warm:7.2f} s", flush=True)
    return results


if __name__ == "__main__":
    main()
