"""Event ingest: validation, the Redis buffer and its consumer, idempotent writes, derived state.

``validation``  plain-Python checks of batches and traits (no DRF serializer per event: too slow)
``service``     ``events_ingest``: buffer a validated batch in Redis, or write it directly
``stream``      the Redis client, the stream append and the circuit breaker around Redis
``consumer``    drains the stream through a consumer group, acknowledging only after commit
``writer``      ``events_write``: resolve users, store each event id once, update derived state
``users``       race-safe bulk resolution of external and anonymous ids to ``EndUser`` rows
``derived``     everything updated from newly stored events (seen times, counters, guide state…)
``stages``      journey-stage evaluation after new events or an identify
"""
