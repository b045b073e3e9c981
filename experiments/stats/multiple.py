"""Multiple-comparison adjustment of p-values (several metrics or variants at once).

- ``"holm"``: Holm's step-down procedure, controls the family-wise error rate (any false
  positive) under any dependence. Use for guardrails and for a few primary comparisons.
- ``"bh"`` (alias ``"fdr_bh"``): Benjamini–Hochberg step-up procedure, controls the false
  discovery rate (expected share of false positives among "significant" results) for
  independent or positively dependent tests. Use for many secondary metrics.

Both are a sort and a running max/min, written out here and checked against statsmodels
``multipletests(method='holm' / 'fdr_bh')`` in the tests. We do not call statsmodels at run
time: its Holm branch runs ``gc.collect()`` on every call (tens of milliseconds in a large
process), and its default method (Holm–Šidák) is one we never want implicitly.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

_METHODS = {"holm": "holm", "bh": "bh", "fdr_bh": "bh"}


def adjust_p_values(p_values: Sequence[float | None], method: str) -> list[float | None]:
    """Adjusted p-values in input order; None entries (meaningless tests) pass through as None
    and do not count towards the number of tests."""
    try:
        procedure = _METHODS[method]
    except KeyError:
        raise ValueError(f"method must be one of {sorted(_METHODS)}, got {method!r}") from None
    present = [i for i, p in enumerate(p_values) if p is not None]
    for i in present:
        p = p_values[i]
        if not (math.isfinite(p) and 0.0 <= p <= 1.0):
            raise ValueError(f"p-values must be in [0, 1] or None, got {p!r} at position {i}")
    adjusted: list[float | None] = [None] * len(p_values)
    if not present:
        return adjusted

    raw = np.array([p_values[i] for i in present], dtype=float)
    m = raw.size
    order = np.argsort(raw, kind="stable")
    ranked = raw[order]
    if procedure == "holm":
        # p_(i) × (m - i + 1), made non-decreasing from the smallest p upwards.
        stepped = np.maximum.accumulate(ranked * np.arange(m, 0, -1))
    else:
        # p_(i) × m / i, made non-increasing from the largest p downwards.
        stepped = np.minimum.accumulate((ranked * m / np.arange(1, m + 1))[::-1])[::-1]
    corrected = np.empty(m)
    corrected[order] = np.minimum(stepped, 1.0)
    for i, value in zip(present, corrected, strict=True):
        adjusted[i] = float(value)
    return adjusted
