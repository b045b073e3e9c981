"""``manage.py partition_events``: partition analytics_event by month (PostgreSQL, WAYLINE_PARTITION_EVENTS=1)."""
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from analytics.ingest import writer
from analytics.partitioning import MONTHS_AHEAD, event_partitions_ensure, events_partition, events_partitioned


class Command(BaseCommand):
    help = (
        "Convert analytics_event into a table partitioned by month (once; the table is locked while rows move), "
        "or with --ensure create the coming months' partitions. Needs PostgreSQL and WAYLINE_PARTITION_EVENTS=1; "
        "docs/scaling.md explains the trade-offs."
    )

    def add_arguments(self, parser):
        parser.add_argument("--ensure", action="store_true", help="only create the next months' partitions")
        parser.add_argument("--months-ahead", type=int, default=MONTHS_AHEAD)
        parser.add_argument("--keep-old", action="store_true", help="keep the old table as analytics_event_unpartitioned")
        parser.add_argument("--force", action="store_true",
                            help="partition even though the ingest writer does not claim event ids yet (benchmarks)")

    def handle(self, *args, ensure, months_ahead, keep_old, force, **options):
        if connection.vendor != "postgresql":
            raise CommandError("Partitioning needs PostgreSQL (DATABASE_URL).")
        if not settings.WAYLINE_PARTITION_EVENTS:
            raise CommandError("Set WAYLINE_PARTITION_EVENTS=1 first: the ingest writer must know to claim ids.")
        if ensure:
            created = event_partitions_ensure(months_ahead=months_ahead)
            self.stdout.write(f"Created {len(created)} partition(s): {', '.join(created) or 'none needed'}")
            return
        if events_partitioned():
            self.stdout.write("analytics_event is already partitioned.")
            return
        if not getattr(writer, "CLAIMS_EVENT_IDS", False) and not force:
            raise CommandError(
                "The ingest writer still relies on INSERT … ON CONFLICT (id), which a partitioned table cannot "
                "arbitrate (its primary key is (id, timestamp)); it must claim ids with "
                "analytics.partitioning.event_ids_claim first. Until it declares CLAIMS_EVENT_IDS = True, "
                "only --force (benchmarks) partitions the table."
            )
        moved = events_partition(months_ahead=months_ahead, keep_old=keep_old)
        self.stdout.write(self.style.SUCCESS(f"analytics_event is now partitioned by month ({moved:,} rows moved)."))
