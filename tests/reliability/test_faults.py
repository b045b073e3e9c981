"""Faults during load in CI: Redis, an ingest consumer, PostgreSQL and a web worker killed while clients send.

Each scenario must end with every event stored once and the service answering again with nobody
stepping in (the consumers run under a supervisor, as in production).
"""
import pytest

from bench.faults import fault_run


@pytest.mark.parametrize("scenario", ["redis", "consumer", "postgres", "web-worker"],
                         ids=["redis-restarted", "consumer-sigkill-mid-batch", "postgres-restarted", "web-worker-killed"])
def test_fault_during_load__injected__nothing_lost_nothing_duplicated_and_recovers(stack, scenario):
    # Given snippet clients loading their application, when the fault hits one second in
    result, fault = fault_run(stack, stack.applications[scenario], scenario, clients=8, duration=4, inject_at=1,
                              recover_timeout=30)

    # Then the service answers again and everything accepted up to then is stored
    assert fault.answering_s is not None, fault
    assert fault.recovered_s is not None, fault
    # And after the clients' retries every event id is stored exactly once, counters included
    r = result.reconciliation
    assert r.generated > 0 and r.resent > 0
    assert (r.lost, r.duplicated, r.counters_missing, r.unexpected, r.refused) == (0, 0, 0, 0, 0), r
    assert result.settle_s is not None
    if scenario in ("consumer", "web-worker"):
        assert fault.restarts >= 1, fault  # the killed process was replaced without anyone stepping in
