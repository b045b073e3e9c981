"""Load the simulated SaaS at scale into PostgreSQL with COPY (see docs/benchmarks.md)."""
import json
import time
from datetime import date, datetime, time as day_start, timezone
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from analytics.simulation.generator import SimulationConfig
from analytics.simulation.truth import truth_write
from analytics.simulation.loader import orphans_count
from wayline.demo import demo_application_setup, demo_guides
from wayline.simulation_setup import experiments_recompute, simulated_users_count, simulation_run

SCALE_APPLICATION = "Chatterbox (scale)"
TABLES = ("analytics_event", "analytics_enduser", "analytics_account", "analytics_usereventdaily",
          "analytics_stagetransition", "analytics_guidestate", "analytics_checklistitemcompletion",
          "analytics_surveyresponse", "analytics_userdayactivity", "experiments_exposure")


class Command(BaseCommand):
    help = "Generate --users simulated users and stream them with their events into PostgreSQL with COPY."

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=1_000_000)
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--chunk", type=int, default=50_000, help="users generated and copied at a time")
        parser.add_argument("--truth", type=Path, default=None, help="where to write the truth JSON")
        parser.add_argument("--no-results", action="store_true", help="skip computing experiment results")

    def handle(self, *args, users, seed, chunk, truth, no_results, **options):
        if connection.vendor != "postgresql":
            raise CommandError("simulate_scale writes with COPY: point DATABASE_URL at PostgreSQL")
        application = demo_application_setup(name=SCALE_APPLICATION)
        if simulated_users_count(application=application, prefix="scale"):
            raise CommandError(f"{SCALE_APPLICATION} already holds simulated users: use a fresh database")
        end = datetime.combine(date.today(), day_start.min, tzinfo=timezone.utc)
        config = SimulationConfig(users=users, seed=seed, end=end, chunk_users=chunk, id_prefix="scale")
        started = time.perf_counter()
        stats, planted, experiments = simulation_run(application=application, config=config,
                                                     guides=demo_guides(application), method="copy", bulk_mode=True)
        load_seconds = time.perf_counter() - started
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        stats.timed("vacuum analyze", started)
        orphans = orphans_count(application_id=application.id)
        if orphans:
            raise CommandError(f"{orphans} events point at missing users: the bulk load is inconsistent")
        results_seconds = None
        if not no_results:
            started = time.perf_counter()
            experiments_recompute(experiments, now=planted.end)
            results_seconds = time.perf_counter() - started
        sizes = _sizes()
        report = {
            "users": stats.users, "accounts": stats.accounts, "events": stats.events,
            "load_seconds": round(load_seconds, 1), "results_seconds": results_seconds and round(results_seconds, 1),
            "steps": {step: round(seconds, 1) for step, seconds in stats.seconds.items()}, "sizes": sizes,
        }
        truth_write(planted, truth or Path(settings.DATA_DIR) / "truth-scale.json", **report)
        self.stdout.write(json.dumps(report, indent=2))


def _sizes() -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        sizes = {"database": cursor.fetchone()[0]}
        for table in TABLES:
            cursor.execute("SELECT pg_total_relation_size(%s), pg_relation_size(%s)", [table, table])
            total, heap = cursor.fetchone()
            sizes[table] = {"total": total, "heap": heap}
    return sizes
