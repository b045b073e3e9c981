"""Set up the demo workspace and its simulated users (idempotent) and print where to look."""
import time

from django.conf import settings
from django.core.management.base import BaseCommand

from wayline.demo import DEMO_SEED, DEMO_USERS, demo_application_setup, demo_data_setup, demo_logins
from wayline.simulation_setup import experiment_results_url


class Command(BaseCommand):
    help = (
        "Create the demo application, its guides, experiments and logins, and load simulated users with "
        "their events through the ingest writer; safe to run again (nothing is added the second time)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--users", type=int, default=DEMO_USERS, help=f"simulated users (default {DEMO_USERS:,})")
        parser.add_argument("--seed", type=int, default=DEMO_SEED)
        parser.add_argument("--no-data", action="store_true", help="only the configuration and logins, no users")

    def _progress(self, users: int, started: float):
        shown = {"at": started}

        def report(stats) -> None:
            now = time.perf_counter()
            if now - shown["at"] >= 5:  # a line every few seconds, so a first run does not look stuck
                shown["at"] = now
                self.stdout.write(f"  … {stats.events:,} events of {stats.users:,} simulated users written through "
                                  f"the ingest writer ({now - started:.0f} s)")
        return report

    def handle(self, *args, users: int, seed: int, no_data: bool, **options):
        started = time.perf_counter()
        if no_data or users <= 0:
            application, data = demo_application_setup(), None
        else:
            data = demo_data_setup(users=users, seed=seed, progress=self._progress(users, started))
            application = data.application
        logins = demo_logins()
        base = settings.WAYLINE_PUBLIC_URL
        self.stdout.write(self.style.SUCCESS(f"Demo application ready: {application.name}"))
        if data is not None:
            what = "loaded" if data.loaded else "already there"
            self.stdout.write(f"  Simulated data {what}: {data.users:,} users, {data.events:,} events "
                              f"({time.perf_counter() - started:.1f} s)")
        self.stdout.write(f"  Admin:          {base}/admin/   (editor: admin / {logins['admin']}, "
                          f"viewer: viewer / {logins['viewer']})")
        self.stdout.write(f"  Demo host page: {base}/demo/")
        if data is not None and data.experiments:
            first = data.experiments.get("bar") or next(iter(data.experiments.values()))
            self.stdout.write(f"  Experiment results: {experiment_results_url(first, base)}")
            for key, experiment in data.experiments.items():
                if experiment is not first:
                    self.stdout.write(f"      also: {experiment.name}: {experiment_results_url(experiment, base)}")
