"""Journey stages: which stage each user is at after new events (or an identify), and when they moved.

A user's stage is the furthest stage (highest ``order``) whose entry rule holds; a stage without
a rule holds for everyone. After a batch, each affected user (one who has no stage yet, or did an
event a stage rule names) is evaluated once, at their last new event. Only if that moves them are
their new events replayed in timestamp order, evaluating at each one that could matter, so a batch
that carries a user from sign-up through activation records each transition at the time of the
event that caused it. (A stage reached and lost again inside one batch — possible only with
windowed rules and a gap longer than the window — leaves no trace.) Evaluations at events older
than the user's current ``stage_entered_at`` are skipped: late events count, but do not rewrite
past transitions.

Behaviour conditions read the per-day counters (``UserEventDaily``, days in UTC) as they were
before the batch plus the batch's events so far. "Within D days" at an event on day X counts the
days X-D+1 … X (D=1 is that day only); without ``within_days`` it counts every day.
"""
from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Sum

from analytics.ingest.bulk_sql import any_of
from analytics.models import StageTransition, UserEventDaily
from onboarding.models import JourneyStage
from onboarding.rules import UserFacts, evaluate, required_counters

logger = logging.getLogger("analytics")


@dataclass(frozen=True)
class StageRule:
    id: int
    slug: str
    order: int
    rule: Any


@dataclass(frozen=True)
class StageRules:
    stages: tuple[StageRule, ...]  # in journey order
    event_keys: frozenset[tuple[str, int | None]]
    distinct_keys: frozenset[tuple[tuple[str, ...], int | None]]
    names: frozenset[str]  # every event a rule reads
    reads_traits: bool  # whether any rule reads user or account traits

    def by_id(self, stage_id: int | None) -> StageRule | None:
        return next((stage for stage in self.stages if stage.id == stage_id), None)


def stage_rules_load(*, application_id: int) -> StageRules:
    stages = tuple(
        StageRule(id=row[0], slug=row[1], order=row[2], rule=row[3])
        for row in JourneyStage.objects.filter(application_id=application_id)
        .order_by("order")
        .values_list("id", "slug", "order", "entry_rule")
    )
    event_keys: set = set()
    distinct_keys: set = set()
    for stage in stages:
        events, distinct = required_counters(stage.rule)
        event_keys |= events
        distinct_keys |= distinct
    names = {name for name, _ in event_keys} | {name for names, _ in distinct_keys for name in names}
    reads_traits = any(_reads_traits(stage.rule) for stage in stages)
    return StageRules(stages, frozenset(event_keys), frozenset(distinct_keys), frozenset(names), reads_traits)


def _reads_traits(node: Any) -> bool:
    if isinstance(node, dict):
        return "trait" in node or "account_trait" in node or any(_reads_traits(v) for v in node.values())
    if isinstance(node, list):
        return any(_reads_traits(item) for item in node)
    return False


@dataclass
class UserState:
    """The columns of one locked ``EndUser`` row that derived state reads and changes."""

    id: int
    stage_id: int | None
    stage_entered_at: datetime | None
    first_seen_at: datetime | None
    last_seen_at: datetime | None
    traits: dict
    account_traits: dict
    changed: bool = False


def stages_update(
    *,
    application_id: int,
    users: dict[int, UserState],
    events_by_user: dict[int, list[dict]],
    now: datetime | None = None,
    rules: StageRules | None = None,
) -> list[StageTransition]:
    """Re-evaluate stages; update ``users`` in place and insert (and return) the transitions.

    With ``now``, every user in ``users`` is also evaluated once at ``now`` (after identify).
    ``users`` must carry traits if ``rules.reads_traits``.
    """
    rules = rules or stage_rules_load(application_id=application_id)
    if not rules.stages:
        return []
    due = {
        user_id: events
        for user_id, events in events_by_user.items()
        if users[user_id].stage_id is None or any(event["name"] in rules.names for event in events)
    }
    evaluated = set(due) | (set(users) if now is not None else set())
    if not evaluated:
        return []
    counters = _Counters.load(rules, evaluated, events_by_user, now)
    transitions: list[StageTransition] = []
    for user_id in sorted(evaluated):
        user = users[user_id]
        events = due.get(user_id, ())
        if events:
            # Usually the batch changes nothing: one evaluation after all of it says so. Only when
            # the stage moves are the events replayed one by one to time each transition.
            before = counters.save(user_id)
            for event in events:
                counters.add(user_id, event["name"], event["timestamp"].date())
            last = events[-1]["timestamp"]
            if _stage_at(application_id, rules, counters, user, last) not in (None, user.stage_id):
                counters.restore(user_id, before)
                for event in events:
                    counters.add(user_id, event["name"], event["timestamp"].date())
                    if event["name"] in rules.names or user.stage_id is None:
                        _move(application_id, rules, counters, user, event["timestamp"], transitions)
        if now is not None:
            _move(application_id, rules, counters, user, now, transitions)
    if transitions:
        StageTransition.objects.bulk_create(transitions, ignore_conflicts=True)
    return transitions


def _stage_at(application_id: int, rules: StageRules, counters: _Counters, user: UserState, at: datetime) -> int | None:
    """The id of the furthest stage whose rule holds for ``user`` at ``at`` (``None``: none, or too early)."""
    if user.stage_entered_at is not None and at < user.stage_entered_at:
        return None
    current = rules.by_id(user.stage_id)
    day = at.date()
    facts = UserFacts(
        traits=user.traits or {},
        account_traits=user.account_traits or {},
        stage=current.slug if current else None,
        reached_stages=frozenset(s.slug for s in rules.stages if current and s.order <= current.order),
        event_counts=_Lazy(lambda key: counters.count(user.id, key[0], key[1], day)),
        distinct_counts=_Lazy(
            lambda key: sum(1 for name in key[0] if counters.count(user.id, name, key[1], day) > 0)
        ),
    )
    target = next((stage for stage in reversed(rules.stages) if _holds(stage, facts, application_id)), None)
    return target.id if target else None


def _move(application_id: int, rules: StageRules, counters: _Counters, user: UserState, at: datetime,
          transitions: list) -> None:
    target = _stage_at(application_id, rules, counters, user, at)
    if target is None or target == user.stage_id:
        return
    transitions.append(
        StageTransition(application_id=application_id, user_id=user.id, from_stage_id=user.stage_id, to_stage_id=target,
                        at=at)
    )
    user.stage_id, user.stage_entered_at, user.changed = target, at, True


class _Lazy(Mapping):
    """Counts computed only for the keys a rule actually reads (evaluation stops at the first stage that holds)."""

    def __init__(self, compute):
        self._compute = compute
        self._values: dict = {}

    def __getitem__(self, key):
        if key not in self._values:
            self._values[key] = self._compute(key)
        return self._values[key]

    def get(self, key, default=None):
        return self[key]

    def __iter__(self):
        return iter(self._values)

    def __len__(self):
        return len(self._values)


def _holds(stage: StageRule, facts: UserFacts, application_id: int) -> bool:
    try:
        return evaluate(stage.rule, facts)
    except (KeyError, TypeError, ValueError, AttributeError):  # a rule saved around validation
        logger.warning("stage.rule_unusable", extra={"application_id": application_id, "stage_id": stage.id})
        return False


class _Counters:
    """Per-user event counts: totals for rules without a window, per-day counts for windowed ones."""

    def __init__(self, ever_names: set[str], windowed_names: set[str]):
        self.ever_names = ever_names
        self.windowed_names = windowed_names
        self.totals: dict[tuple[int, str], int] = defaultdict(int)
        self.days: dict[tuple[int, str], dict[date, int]] = defaultdict(lambda: defaultdict(int))

    @classmethod
    def load(cls, rules: StageRules, user_ids: set[int], events_by_user: dict, now: datetime | None) -> _Counters:
        keys = set(rules.event_keys) | {(name, days) for names, days in rules.distinct_keys for name in names}
        ever = {name for name, days in keys if days is None}
        windows: dict[str, int] = {}
        for name, days in keys:
            if days is not None:
                windows[name] = max(windows.get(name, 0), days)
        counters = cls(ever, set(windows))
        users = sorted(user_ids)
        if ever:
            rows = (
                UserEventDaily.objects.filter(any_of("analytics_usereventdaily.user_id", users, "bigint"))
                .filter(name__in=sorted(ever))
                .values("user_id", "name")
                .annotate(total=Sum("count"))
                .values_list("user_id", "name", "total")
            )
            for user_id, name, total in rows:
                counters.totals[(user_id, name)] = total
        if windows:
            moments = [event["timestamp"] for events in events_by_user.values() for event in events]
            if now is not None:
                moments.append(now)
            earliest = min(moments).date()
            since = date.fromordinal(earliest.toordinal() - max(windows.values()) + 1)
            rows = (
                UserEventDaily.objects.filter(any_of("analytics_usereventdaily.user_id", users, "bigint"))
                .filter(name__in=sorted(windows), day__gte=since)
                .values_list("user_id", "name", "day", "count")
            )
            for user_id, name, day, count in rows:
                counters.days[(user_id, name)][day] += count
        return counters

    def save(self, user_id: int) -> tuple[dict, dict]:
        return (
            {name: self.totals[(user_id, name)] for name in self.ever_names if (user_id, name) in self.totals},
            {name: dict(self.days[(user_id, name)]) for name in self.windowed_names if (user_id, name) in self.days},
        )

    def restore(self, user_id: int, saved: tuple[dict, dict]) -> None:
        totals, days = saved
        for name in self.ever_names:
            self.totals.pop((user_id, name), None)
        for name in self.windowed_names:
            self.days.pop((user_id, name), None)
        self.totals.update({(user_id, name): count for name, count in totals.items()})
        for name, per_day in days.items():
            self.days[(user_id, name)].update(per_day)

    def add(self, user_id: int, name: str, day: date) -> None:
        if name in self.ever_names:
            self.totals[(user_id, name)] += 1
        if name in self.windowed_names:
            self.days[(user_id, name)][day] += 1

    def count(self, user_id: int, name: str, within_days: int | None, on: date) -> int:
        if within_days is None:
            return self.totals.get((user_id, name), 0)
        per_day = self.days.get((user_id, name))
        if not per_day:
            return 0
        first = on.toordinal() - within_days + 1
        return sum(count for day, count in per_day.items() if first <= day.toordinal() <= on.toordinal())
