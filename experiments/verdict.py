"""The results of an experiment in plain words: one verdict paragraph and the warnings behind it."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Notice:
    """A warning the result page shows; ``code`` is stable, ``message`` is for people."""

    code: str
    message: str


def confidence_label(alpha: float) -> str:
    return f"{(1 - alpha) * 100:g} % CI"


def format_diff(value: float, *, binary: bool, signed: bool = False) -> str:
    if binary:
        text = f"{value * 100:+.1f}" if signed else f"{abs(value) * 100:.1f}"
        return f"{text} pp"
    text = f"{value:+.2f}" if signed else f"{abs(value):.2f}"
    return f"{text} per user"


def format_interval(interval, *, binary: bool) -> str:
    low, high = interval
    if binary:
        return f"{low * 100:.1f} to {high * 100:.1f}"
    return f"{low:.2f} to {high:.2f}"


def format_chance(chance: float) -> str:
    if chance >= 0.9995:
        return "> 99.9 %"
    if chance <= 0.0005:
        return "< 0.1 %"
    return f"{chance * 100:.1f} %"


def comparison_sentence(*, variant: str, metric: str, comparison, binary: bool, alpha: float, final: bool) -> str:
    """One sentence about one treatment on one metric."""
    label = confidence_label(alpha)
    interval = comparison.decision_ci
    if comparison.abs_diff is None:
        return f"No comparison of {metric} for {variant} yet: an arm has no users."
    ci = f" ({label} {format_interval(interval, binary=binary)})" if interval else ""
    if comparison.significant:
        verb = "raised" if comparison.abs_diff > 0 else "lowered"
        text = f"{variant} {verb} {metric} by {format_diff(comparison.abs_diff, binary=binary)}{ci}"
        if comparison.better is False:
            text += ", worse than control"
        if comparison.chance_to_beat_control is not None:
            text += f", chance to beat control {format_chance(comparison.chance_to_beat_control)}"
        return text + "."
    prefix = "No detectable difference" if final else "No detectable difference yet"
    reason = "" if comparison.enough_data else "; too few users or conversions to decide"
    return (
        f"{prefix} in {metric}: {variant} {format_diff(comparison.abs_diff, binary=binary, signed=True)}"
        f"{ci} compared with control{reason}."
    )


def verdict_text(
    *,
    status: str,
    exposed: int,
    srm_flagged: bool,
    srm_p: float | None,
    sentences: Sequence[str],
    guardrail_sentences: Sequence[str],
    progress_sentence: str | None,
) -> str:
    """The paragraph at the top of the result page."""
    if status == "draft":
        return "Not started yet: there are no results."
    if exposed == 0:
        return "No users have been exposed to the experiment yet."
    if srm_flagged:
        p = f"p = {srm_p:.2g}" if srm_p is not None else "p ≈ 0"
        return (
            "Do not trust these results: the number of users per variant does not match the configured "
            f"split (sample ratio mismatch, {p}). Check the assignment and the exposure logging first."
        )
    parts = list(sentences) + list(guardrail_sentences)
    if progress_sentence:
        parts.append(progress_sentence)
    return " ".join(parts) if parts else "The experiment has no primary metric to judge it by."
