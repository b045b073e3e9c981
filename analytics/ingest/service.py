"""``events_ingest``: take a validated batch — into the Redis buffer when there is one, else straight to the database."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from analytics.ingest.stream import events_append
from analytics.ingest.writer import events_write


@dataclass(frozen=True)
class IngestResult:
    accepted: int  # stored now (direct) or queued for storage (buffered)
    duplicates: int  # ids already stored (direct); on the buffered path only repeats within the batch
    buffered: bool


def events_ingest(*, application_id: int, events: list[dict], received_at: datetime) -> IngestResult:
    """Buffer or write ``events`` (validated and de-duplicated by ``validate_batch``).

    Buffered, the API cannot know yet which ids were stored before — the consumer finds out when it
    writes them — so ``accepted`` counts every event handed over and ``duplicates`` is 0. Storage is
    exact either way: each id is stored once.
    """
    if not events:
        return IngestResult(accepted=0, duplicates=0, buffered=False)
    if events_append(application_id=application_id, events=events, received_at=received_at):
        return IngestResult(accepted=len(events), duplicates=0, buffered=True)
    result = events_write(application_id=application_id, events=events, received_at=received_at)
    return IngestResult(accepted=result.new, duplicates=result.duplicates, buffered=False)
