"""Deterministic assignment of units (users or accounts) to experiment variants.

Pure functions of (salt, unit id): the same unit always lands in the same bucket on every
process and machine, with no state to store and no coordination. The hash is SHA-256 of
``f"{salt}:{unit_id}"``, first 8 bytes read big-endian, modulo 10,000 — never Python's
``hash()``, which is randomised per process (PYTHONHASHSEED).

Traffic inclusion and the variant split use *different* hash inputs (``salt + ":traffic"``
and ``salt + ":variant"``), so they are independent: raising the traffic share only adds units
(everyone already in keeps their variant), and the variant split is uniform within the
included units.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

BUCKETS = 10_000


def bucket(salt: str, unit_id: str) -> int:
    """Stable bucket in [0, 10000) for ``unit_id`` under ``salt``."""
    digest = hashlib.sha256(f"{salt}:{unit_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def assign(salt: str, unit_id: str, traffic_share: float, weights: Sequence[float]) -> int | None:
    """Variant index for ``unit_id``, or None when the unit is outside the traffic share.

    ``traffic_share`` in [0, 1] is the fraction of units in the experiment; ``weights`` are the
    relative sizes of the variants (need not sum to 1; a weight of 0 receives nobody).
    Resolution is 1/10,000 of traffic.
    """
    if not (isinstance(traffic_share, (int, float)) and 0.0 <= traffic_share <= 1.0):
        raise ValueError(f"traffic_share must be in [0, 1], got {traffic_share!r}")
    if not weights or any(not (math.isfinite(w) and w >= 0) for w in weights) or sum(weights) <= 0:
        raise ValueError(f"weights must be non-negative with a positive sum, got {weights!r}")

    if bucket(f"{salt}:traffic", unit_id) >= traffic_share * BUCKETS:
        return None
    point = bucket(f"{salt}:variant", unit_id)
    total = float(sum(weights))
    cumulative = 0.0
    last_positive = max(i for i, w in enumerate(weights) if w > 0)
    for index, weight in enumerate(weights):
        cumulative += weight
        if weight > 0 and (point < cumulative / total * BUCKETS or index == last_positive):
            return index
    raise AssertionError("unreachable: the last positive weight always matches")  # pragma: no cover
