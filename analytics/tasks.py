"""Celery tasks of analytics: an interface that calls one service each."""
from celery import shared_task

from analytics.ingest.consumer import stream_drain
from analytics.ingest.stream import buffer_url


@shared_task(name="analytics.drain_event_stream", ignore_result=True)
def drain_event_stream(max_seconds: float = 50.0) -> int:
    """Write what waits in the event stream now (scheduled by beat); safe to run twice or concurrently.

    Returns the number of events newly stored. ``manage.py consume_events`` does the same
    continuously; this task is the fallback for deployments that run only Celery.
    """
    if not buffer_url():
        return 0
    return stream_drain(max_seconds=max_seconds).new
