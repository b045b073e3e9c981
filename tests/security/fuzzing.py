"""Fuzzing harnesses shared by the security tests (bounded counts) and ``bench/fuzz.py`` (large ones).

Each harness counts what it tried and collects every failure instead of stopping at the first,
so a long run reports "N tried, M failed" with the distinct failures; the tests assert that
none failed. ``WAYLINE_FUZZ_EXAMPLES`` (and ``WAYLINE_FUZZ_API_EXAMPLES`` for schemathesis) replace the bounded
counts (``bench/fuzz.py`` sets them) and
``WAYLINE_FUZZ_TALLY`` names a JSON-lines file each run appends its tally to.
"""
from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass, field

import hypothesis

SCALE_VARIABLE = "WAYLINE_FUZZ_EXAMPLES"
API_SCALE_VARIABLE = "WAYLINE_FUZZ_API_EXAMPLES"  # schemathesis: examples per operation and mode
TALLY_VARIABLE = "WAYLINE_FUZZ_TALLY"


def examples(default: int, variable: str = SCALE_VARIABLE) -> int:
    """``default``, or the count ``bench/fuzz.py`` asks for."""
    return int(os.environ.get(variable) or default)


def fuzz_settings(max_examples: int) -> hypothesis.settings:
    # No example database: the bounded CI run stays the same run after run, and no file is written.
    return hypothesis.settings(
        max_examples=max_examples, deadline=None, database=None,
        suppress_health_check=list(hypothesis.HealthCheck),
    )


@dataclass
class Tally:
    """How many inputs a harness tried, and the failures it saw (each distinct one once, with a count)."""

    name: str
    subjects: list[str] = field(default_factory=list)  # what was fuzzed: operations, functions
    tried: int = 0
    failures: Counter = field(default_factory=Counter)
    by_outcome: Counter = field(default_factory=Counter)

    def fail(self, description: str) -> None:
        self.failures[description[:500]] += 1

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    def run(self, test) -> None:
        """Run a hypothesis test that counts into this tally; a failure is counted, recorded and raised."""
        try:
            test()
        except BaseException as error:
            self.fail(f"{type(error).__name__}: {str(error).strip()[:300]}")
            raise
        finally:
            self.record()

    def record(self) -> None:
        """Append this tally to ``WAYLINE_FUZZ_TALLY`` when set (the bench script's report)."""
        path = os.environ.get(TALLY_VARIABLE)
        if path:
            with open(path, "a", encoding="utf-8") as out:
                out.write(json.dumps({"name": self.name, "subjects": self.subjects, "tried": self.tried, "failed": self.failed,
                                      "outcomes": dict(self.by_outcome), "failures": dict(self.failures)}) + "\n")
