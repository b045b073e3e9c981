"""NPS and CSAT summaries with 95 % confidence intervals: pure functions over counts."""
from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054  # the 97.5th percentile of the standard normal


@dataclass(frozen=True)
class NpsSummary:
    """NPS in points (−100 … 100): % promoters (9–10) minus % detractors (0–6).

    The interval is the multinomial delta method, Var(NPS) = (p_P + p_D − (p_P − p_D)²) / n,
    clipped to [−100, 100]; ``None`` without responses.
    """

    responses: int
    promoters: int
    passives: int
    detractors: int
    promoter_share: float | None
    passive_share: float | None
    detractor_share: float | None
    nps: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class CsatSummary:
    """CSAT on 1–5: mean score (CI from the sample standard deviation) and share satisfied (4–5, Wald CI)."""

    responses: int
    mean: float | None
    mean_ci_low: float | None  # None with fewer than 2 responses
    mean_ci_high: float | None
    satisfied: int
    satisfied_share: float | None
    satisfied_ci_low: float | None
    satisfied_ci_high: float | None


def nps_summary(promoters: int, passives: int, detractors: int) -> NpsSummary:
    n = promoters + passives + detractors
    if n == 0:
        return NpsSummary(0, 0, 0, 0, None, None, None, None, None, None)
    p_p, p_d = promoters / n, detractors / n
    nps = 100 * (p_p - p_d)
    half = 100 * Z95 * math.sqrt(max(p_p + p_d - (p_p - p_d) ** 2, 0.0) / n)
    return NpsSummary(n, promoters, passives, detractors, p_p, passives / n, p_d, nps,
                      max(nps - half, -100.0), min(nps + half, 100.0))


def csat_summary(responses: int, score_sum: float, score_square_sum: float, satisfied: int) -> CsatSummary:
    n = responses
    if n == 0:
        return CsatSummary(0, None, None, None, 0, None, None, None)
    mean = score_sum / n
    if n >= 2:
        variance = max(score_square_sum - n * mean * mean, 0.0) / (n - 1)
        half = Z95 * math.sqrt(variance / n)
        low, high = mean - half, mean + half
    else:
        low = high = None
    share = satisfied / n
    half_share = Z95 * math.sqrt(share * (1 - share) / n)
    return CsatSummary(n, mean, low, high, satisfied, share, max(share - half_share, 0.0), min(share + half_share, 1.0))
