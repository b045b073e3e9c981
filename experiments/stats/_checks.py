"""Input validation shared by the statistics modules.

Malformed input (negative counts, alpha outside (0, 1)) is a programming error and raises
ValueError; data that merely makes a question meaningless (an empty arm) yields None instead.
"""

from __future__ import annotations

import math


def check_alpha(alpha: float) -> None:
    if not 0.0 < alpha < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")


def check_count(name: str, value: float) -> None:
    if not (math.isfinite(value) and value >= 0 and int(value) == value):
        raise ValueError(f"{name} must be a non-negative whole number, got {value!r}")


def check_finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
