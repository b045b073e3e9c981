"""``events_ingest``: take a validated batch — into the Redis buffer when there is one, else straight to the database."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from django.db import DatabaseError

from analytics.ingest.stream import buffer_url, events_append
from analytics.ingest.writer import events_write

logger = logging.getLogger("analytics")

# Events that close a guide for this user. Buffered, they would reach the guide state only when a
# consumer gets to them, and the next page's content request (often a few hundred milliseconds
# later) would offer the guide the user just closed. They are rare — once per guide per user — so
# they are written before the answer, like the direct path, and only the rest waits in the buffer.
GUIDE_CLOSING = frozenset({"$guide_dismissed", "$guide_completed"})


@dataclass(frozen=True)
class IngestResult:
    accepted: int  # stored now (direct) or queued for storage (buffered)
    duplicates: int  # ids already stored (direct); on the buffered path only repeats within the batch
    buffered: bool


def events_ingest(*, application_id: int, events: list[dict], received_at: datetime) -> IngestResult:
    """Buffer or write ``events`` (validated and de-duplicated by ``validate_batch``).

    Buffered, the API cannot know yet which ids were stored before — the consumer finds out when it
    writes them — so ``accepted`` counts every event handed over and ``duplicates`` is 0 (but for
    guide-closing events, written at once). Storage is exact either way: each id is stored once.
    """
    if not events:
        return IngestResult(accepted=0, duplicates=0, buffered=False)
    closed = _guide_closing_write(application_id, events, received_at) if buffer_url() else None
    rest = [event for event in events if event["name"] not in GUIDE_CLOSING] if closed else events
    done_new, done_duplicates = (closed.new, closed.duplicates) if closed else (0, 0)
    if not rest:
        return IngestResult(accepted=done_new, duplicates=done_duplicates, buffered=False)
    if events_append(application_id=application_id, events=rest, received_at=received_at):
        return IngestResult(accepted=len(rest) + done_new, duplicates=done_duplicates, buffered=True)
    result = events_write(application_id=application_id, events=rest, received_at=received_at)
    return IngestResult(accepted=result.new + done_new, duplicates=result.duplicates + done_duplicates, buffered=False)


def _guide_closing_write(application_id: int, events: list[dict], received_at: datetime):
    """Write the batch's guide-closing events now; ``None`` when there are none or the database
    refused (then they go through the buffer with the rest, and nothing is lost)."""
    closing = [event for event in events if event["name"] in GUIDE_CLOSING]
    if not closing:
        return None
    try:
        return events_write(application_id=application_id, events=closing, received_at=received_at)
    except DatabaseError as error:
        logger.warning("events.guide_closing_deferred",
                       extra={"application_id": application_id, "error": type(error).__name__})
        return None
