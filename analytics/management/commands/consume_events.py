"""``manage.py consume_events``: drain the Redis event stream into the database until stopped."""
import logging
import signal
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import InterfaceError, OperationalError

from analytics.ingest.consumer import StreamConsumer, connections_refresh, default_consumer_name
from analytics.ingest.stream import REDIS_ERRORS, buffer_url

logger = logging.getLogger("analytics")


class Command(BaseCommand):
    help = (
        "Write buffered events from the Redis stream to the database (consumer group, ack after commit). "
        "Runs until SIGTERM/SIGINT, which finish the current round first."
    )

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="Drain what is there now, then exit.")
        parser.add_argument("--max-batches", type=int, default=None, help="Stop after this many rounds.")
        parser.add_argument(
            "--count", type=int, default=250,
            help="Stream entries per round (each up to 100 events); bigger rounds spread each commit over more events.",
        )
        parser.add_argument(
            "--block-ms", type=int, default=1000, help="How long one read waits for new entries (at most 5000)."
        )
        parser.add_argument(
            "--claim-idle-ms", type=int, default=60_000,
            help="Reclaim entries another consumer left unacknowledged for this long (it crashed).",
        )
        parser.add_argument("--name", default=None, help="Consumer name in the group (default host-pid).")

    def handle(self, *args, **options):
        if not buffer_url():
            raise CommandError("No event buffer: set REDIS_URL (without it the API writes events directly).")
        stopping = {"now": False}

        def stop(signum, frame):
            stopping["now"] = True
            logger.info("consumer.stopping", extra={"signal": signum})

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        consumer = StreamConsumer(
            name=options["name"] or default_consumer_name(), count=options["count"],
            claim_min_idle_ms=options["claim_idle_ms"],
        )
        rounds = 0
        written = 0
        logger.info("consumer.started", extra={"consumer": consumer.name, "stream": consumer.stream})
        while not stopping["now"] and (options["max_batches"] is None or rounds < options["max_batches"]):
            try:
                connections_refresh()
                stats = consumer.round(block_ms=None if options["once"] else options["block_ms"])
            except (OperationalError, InterfaceError, *REDIS_ERRORS) as error:
                # Nothing was acknowledged; the entries stay pending and are retried.
                logger.warning("consumer.retrying", extra={"error": type(error).__name__})
                time.sleep(1)  # back off from an unavailable service, not to wait for work
                continue
            if not stats.entries:
                if options["once"]:
                    break
                continue
            rounds += stats.rounds
            written += stats.new
        self.stdout.write(f"consume_events: {rounds} rounds, {written} new events stored")
