"""How often a user may see a guide: frequency per guide and the application's global throttle.

Pure functions over ``UserGuideState`` (what the ingest pipeline recorded from the snippet's
``$guide_shown``, ``$guide_dismissed`` and ``$guide_completed`` events); no ORM.

A guide is *in progress* when it was last shown in the current session and has not been
dismissed or completed since. The snippet drops any guide a new decision leaves out, so an
in-progress guide keeps being returned for the rest of its session whatever its frequency or
the throttle say — otherwise a tour would vanish on the next route change.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from onboarding.models import Guide

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


@dataclass(frozen=True)
class UserGuideState:
    """What one user has done with one guide."""

    seen_count: int = 0
    last_seen_at: datetime | None = None
    last_session_id: str = ""
    dismissed_at: datetime | None = None  # the latest dismissal
    completed_at: datetime | None = None

    @property
    def dismissed(self) -> bool:
        return self.dismissed_at is not None

    @property
    def completed(self) -> bool:
        return self.completed_at is not None

    def closed_since_shown(self) -> bool:
        """Dismissed or completed at or after the last time it was shown."""
        last = self.last_seen_at
        return any(at is not None and (last is None or at >= last) for at in (self.dismissed_at, self.completed_at))


def in_progress(state: UserGuideState | None, session_id: str) -> bool:
    return (
        state is not None
        and bool(session_id)
        and state.seen_count > 0
        and state.last_session_id == session_id
        and not state.closed_since_shown()
    )


def frequency_allows(frequency: str, max_times: int | None, state: UserGuideState | None, session_id: str) -> bool:
    """Whether the guide's frequency lets it be shown (again) now.

    once           never again once seen;
    until_done     until completed or dismissed;
    every_session  once per session: not again in the session it was last shown in
                   (a request without a session id counts as a new session);
    max_times      while seen fewer than ``max_times`` times.
    """
    if state is None or in_progress(state, session_id):
        return True
    if frequency == Guide.Frequency.ONCE:
        return state.seen_count < 1
    if frequency == Guide.Frequency.EVERY_SESSION:
        return not session_id or state.last_session_id != session_id
    if frequency == Guide.Frequency.MAX_TIMES:
        return state.seen_count < (max_times or 1)
    return not (state.dismissed or state.completed)  # until_done, and anything unknown


class Throttle:
    """The application's cap on automatically triggered guides per user per hour and per day.

    A window's count is the number of distinct automatic guides the user was shown in it (read
    from each ``GuideState.last_seen_at``, so showing one guide twice counts once). A guide the
    user has not been shown in a capped window is *new* there. ``open_for`` says whether a new
    guide could still fit (the count is below every cap); ``admit`` also counts it, so a list
    never holds more new automatic guides than the caps leave room for. A cap of 0 means no limit.
    """

    def __init__(
        self,
        *,
        per_hour: int,
        per_day: int,
        states: Mapping[int, UserGuideState],
        is_automatic: Callable[[int, UserGuideState], bool],
        now: datetime,
    ):
        self.windows = [(now - span, cap) for span, cap in ((HOUR, per_hour), (DAY, per_day)) if cap > 0]
        self.counts = [
            sum(1 for guide_id, state in states.items() if is_automatic(guide_id, state) and _seen_since(state, start))
            for start, _ in self.windows
        ]

    def open_for(self, state: UserGuideState | None) -> bool:
        """Whether the guide with this state could be shown without going over a cap."""
        return not any(
            count >= cap and not _seen_since(state, start) for count, (start, cap) in zip(self.counts, self.windows)
        )

    def admit(self, state: UserGuideState | None) -> bool:
        """``open_for``, and if so count the guide as shown."""
        if not self.open_for(state):
            return False
        self.counts = [count + (not _seen_since(state, start)) for count, (start, _) in zip(self.counts, self.windows)]
        return True


def _seen_since(state: UserGuideState | None, start: datetime) -> bool:
    return state is not None and state.last_seen_at is not None and state.last_seen_at >= start
