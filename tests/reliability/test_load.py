"""A short load in CI: snippet clients with resends against the real stack; nothing lost, nothing twice."""
from bench.load import load_run


def test_load__snippet_clients_resending_batches__every_event_stored_once(stack):
    # Given 8 snippet clients that identify, ask for content and send batches, resending some accepted batches
    result, _ = load_run(stack, stack.applications["load"], clients=8, duration=3, drain=30, settle_timeout=60)

    # Then every event id a client created is stored, none twice, and the daily counters count each once
    r = result.reconciliation
    assert r.generated > 0 and r.resent > 0
    assert (r.lost, r.duplicated, r.counters_missing, r.unexpected, r.refused) == (0, 0, 0, 0, 0)
    assert r.accepted == r.generated == r.stored
    # And with nothing broken every request was answered 2xx on every endpoint
    for name, endpoint in result.endpoints.items():
        assert endpoint["requests"] > 0, name
        assert endpoint["errors"] == 0, (name, endpoint["statuses"])
    assert result.settle_s is not None
