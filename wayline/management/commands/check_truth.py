"""Print each truth planted in the simulated data beside what the result pages and reports say."""
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from analytics.simulation.truth import SRM_EXPOSURE_DROP
from wayline.demo import DEMO_SEED, DEMO_USERS, demo_data_setup
from wayline.truth_check import checks_as_text, truth_checks


class Command(BaseCommand):
    help = (
        "Check the planted truths against experiment results and reports: the demo data by default, or a "
        "fresh simulation of --users users in its own application. Exits with an error when one fails."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=None,
                            help=f"simulate this many users in a separate application (default: the demo's {DEMO_USERS:,})")
        parser.add_argument("--seed", type=int, default=DEMO_SEED)
        parser.add_argument("--srm-drop", type=float, default=SRM_EXPOSURE_DROP,
                            help="share of the tour's treatment exposures the planted bug loses (default 0.08)")
        parser.add_argument("--method", choices=("ingest", "copy"), default="ingest",
                            help="load through the ingest writer (any database) or COPY (PostgreSQL)")
        parser.add_argument("--truth", type=Path, default=None,
                            help="the truth file of a --users run (default var/truth-check-<users>-<seed>.json)")

    def handle(self, *args, users, seed, srm_drop, method, truth, **options):
        started = time.perf_counter()
        if users is None:
            data = demo_data_setup(seed=seed)
        else:
            name = f"Chatterbox (truth check: {users:,} users, seed {seed})"
            path = truth or Path(settings.DATA_DIR) / f"truth-check-{users}-{seed}.json"
            data = demo_data_setup(users=users, seed=seed, truth_path=path, application_name=name, prefix="check",
                                   method=method, srm_exposure_drop=srm_drop)
        loaded = time.perf_counter() - started
        checks = truth_checks(application=data.application, experiments=data.experiments, truth=data.truth)
        self.stdout.write(f"{data.application.name}: {data.users:,} users, {data.events:,} events, seed "
                          f"{data.truth.seed} ({'loaded' if data.loaded else 'already loaded'} in {loaded:.1f} s, "
                          f"checked in {time.perf_counter() - started - loaded:.1f} s)")
        self.stdout.write(checks_as_text(checks))
        failed = [check.name for check in checks if not check.passed]
        if failed:
            raise CommandError(f"{len(failed)} planted truth(s) not found: {'; '.join(failed)}")
