"""Long fuzz runs: the rule and event validators, and schemathesis over the public API; prints a table.

Runs the same tests CI runs (``tests/security/test_fuzz.py``, ``tests/api/test_schemathesis.py``)
with larger example counts, through pytest, against PostgreSQL (pytest-django makes its test
database from ``--database-url``, a name containing ``bench``). Each harness appends its tally
(inputs tried, failures, outcomes) to a file this script reads back and prints as Markdown.

    .venv/bin/python bench/fuzz.py --examples 20000 --api-examples 300
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ["tests/security/test_fuzz.py", "tests/api/test_schemathesis.py"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--examples", type=int, default=20_000, help="inputs per validator fuzz test")
    parser.add_argument("--api-examples", type=int, default=300,
                        help="schemathesis examples per operation and generation mode (valid, invalid)")
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/wayline_bench_fuzz")
    args = parser.parse_args()
    if "bench" not in args.database_url.rsplit("/", 1)[-1]:
        parser.error("use a database whose name contains 'bench'")
    with tempfile.TemporaryDirectory() as directory:
        tally_file = Path(directory) / "tally.jsonl"
        env = {
            **os.environ, "DATABASE_URL": args.database_url, "WAYLINE_FUZZ_TALLY": str(tally_file),
            "WAYLINE_FUZZ_EXAMPLES": str(args.examples), "WAYLINE_FUZZ_API_EXAMPLES": str(args.api_examples),
        }
        env.pop("REDIS_URL", None)  # the harnesses need no Redis; events are written directly
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS],
                                cwd=ROOT, env=env)
        elapsed = time.monotonic() - started
        tallies = [json.loads(line) for line in tally_file.read_text().splitlines()] if tally_file.exists() else []
    print(f"\n| harness | inputs tried | failed | outcomes |\n|---|---:|---:|---|")
    for tally in tallies:
        outcomes = ", ".join(f"{key}: {value}" for key, value in sorted(tally["outcomes"].items(), key=str))
        print(f"| {tally['name']} ({len(tally['subjects'])} subjects) | {tally['tried']:,} | {tally['failed']} | {outcomes} |")
    for tally in tallies:
        for failure, count in tally["failures"].items():
            print(f"- {tally['name']}: {count}× {failure}")
    print(f"\n{sum(t['tried'] for t in tallies):,} inputs in {elapsed:.0f} s; pytest exit status {result.returncode}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
