"""The content decision: which live guides one user sees on one page now, highest priority first.

A pure function of the cached configuration (``onboarding.config_cache.PublishedConfig``), the
visit (page URL, device, session, the clock) and the user's facts and guide states; no ORM.
A guide is returned when all of these hold:

1. it is live (the configuration holds nothing else) and within its schedule
   (``starts_at <= now < ends_at``, either end open);
2. its device is ``any`` or the visit's device;
3. the page URL matches one of its include rules (none = every page) and none of its exclude
   rules (``onboarding.url_match``);
4. it has no stages, or the user's current stage is one of them (a user without a stage yet is
   at the first stage);
5. it has no segment, or the user is in it (``onboarding.rules.evaluate``);
6. its trigger is automatic (page load, element, event) — a ``manual`` guide is returned only
   when the visit names it (``guide_id``, for ``wayline.show(id)``). The named guide still has
   to pass 1–5 but skips 7 and 8, whatever its trigger;
7. its frequency allows it (``decision_rules.frequency_allows``), or it is in progress;
8. the application's throttle is not full (``decision_rules.Throttle``), or it is in progress.

The caller then applies running experiments (``experiments.assignment``) and, last,
``throttle_trim``: how many *new* automatic guides fit under the throttle is counted on the
list the user will actually get, after an experiment may have dropped a variant's guide.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from analytics.decision_rules import Throttle, UserGuideState, frequency_allows, in_progress
from onboarding.config_cache import NEVER, LiveGuide, PublishedConfig
from onboarding.models import Guide
from onboarding.rules import UserFacts, evaluate
from onboarding.url_match import url_matches

DEVICES = ("desktop", "mobile")


@dataclass(frozen=True)
class Visit:
    """The page a user is on when the snippet asks what to show."""

    url: str
    now: datetime
    device: str = "desktop"
    session_id: str = ""
    guide_id: int | None = None  # a guide asked for by name (wayline.show)


def decide(
    config: PublishedConfig,
    visit: Visit,
    facts: UserFacts,
    states: Mapping[int, UserGuideState],
) -> list[LiveGuide]:
    """The guides to return for this visit, highest priority first (see the module docstring)."""
    targeting = _Targeting(config, visit, facts)
    throttle = _throttle(config, states, visit.now)
    chosen = []
    for guide in _candidates(config, visit, facts):
        if not targeting.matches(guide):
            continue
        state = states.get(guide.id)
        if guide.id == visit.guide_id or in_progress(state, visit.session_id):
            chosen.append(guide)
        elif frequency_allows(guide.frequency, guide.max_times, state, visit.session_id) and throttle.open_for(state):
            chosen.append(guide)
    return chosen


def throttle_trim(
    config: PublishedConfig, guides: list[dict[str, Any]], visit: Visit, states: Mapping[int, UserGuideState]
) -> list[dict[str, Any]]:
    """Keep, in order, only as many new automatic guides as the throttle has room for.

    ``decide`` already leaves out new automatic guides once a cap is reached; this counts the
    room left. It runs on the final list — after running experiments, which may drop a guide for
    its sibling variant — so a guide that will not be shown never takes another one's place.
    Named, manual and in-progress guides always stay.
    """
    throttle = _throttle(config, states, visit.now)
    kept = []
    for payload in guides:
        state = states.get(payload["id"])
        exempt = (
            payload["id"] == visit.guide_id
            or (payload.get("trigger") or {}).get("type") == Guide.Trigger.MANUAL
            or in_progress(state, visit.session_id)
        )
        if exempt or throttle.admit(state):
            kept.append(payload)
    return kept


def _throttle(config: PublishedConfig, states: Mapping[int, UserGuideState], now: datetime) -> Throttle:
    return Throttle(
        per_hour=config.throttle_per_hour,
        per_day=config.throttle_per_day,
        states=states,
        is_automatic=lambda guide_id, state: _is_automatic(config, guide_id, state),
        now=now,
    )


def _candidates(config: PublishedConfig, visit: Visit, facts: UserFacts) -> tuple[LiveGuide, ...]:
    """The automatic guides for the user's stage, plus the guide named by the visit, in priority order."""
    pool = config.automatic_by_stage.get(facts.stage)
    if pool is None:  # a stage this configuration does not know: only guides for every stage
        pool = config.automatic_by_stage.get(None, ())
    named = config.by_id.get(visit.guide_id) if visit.guide_id is not None else None
    if named is None or (named.automatic and (not named.stages or facts.stage in named.stages)):
        return pool  # nothing named, or the named guide is among them already
    return tuple(sorted((*pool, named), key=lambda guide: (-guide.priority, guide.id)))


def _is_automatic(config: PublishedConfig, guide_id: int, state: UserGuideState) -> bool:
    live = config.by_id.get(guide_id)
    return live.automatic if live is not None else guide_id not in config.manual_guide_ids


class _Targeting:
    """Rules 1–5 for one visit, remembering URL rule and segment results across guides."""

    def __init__(self, config: PublishedConfig, visit: Visit, facts: UserFacts):
        self.config, self.visit, self.facts = config, visit, facts
        self._urls: dict[tuple[str, str], bool] = {}
        self._segments: dict[int, bool] = {}

    def matches(self, guide: LiveGuide) -> bool:
        now = self.visit.now
        return (
            (guide.starts_at is None or guide.starts_at <= now)
            and (guide.ends_at is None or now < guide.ends_at)
            and guide.device in (Guide.Device.ANY, self.visit.device)
            and (not guide.stages or self.facts.stage in guide.stages)
            and (not guide.include_rules or any(map(self._url, guide.include_rules)))
            and not any(map(self._url, guide.exclude_rules))
            and (guide.segment_id is None or self._segment(guide.segment_id))
        )

    def _url(self, rule: tuple[str, str]) -> bool:
        matched = self._urls.get(rule)
        if matched is None:
            matched = self._urls[rule] = url_matches(rule[0], rule[1], self.visit.url)
        return matched

    def _segment(self, segment_id: int) -> bool:
        matched = self._segments.get(segment_id)
        if matched is None:
            rule = self.config.segment_rules.get(segment_id, NEVER)
            matched = self._segments[segment_id] = rule is not NEVER and evaluate(rule, self.facts)
        return matched


def user_facts_for(
    *,
    config: PublishedConfig,
    traits: Mapping[str, Any],
    account_traits: Mapping[str, Any],
    stage: str | None,
    event_counts: Mapping[tuple[str, int | None], int],
) -> UserFacts:
    """``UserFacts`` for a user at ``stage`` (None: not placed yet, so at the first stage)."""
    stages = config.stages
    if stage not in stages:
        stage = stages[0] if stages else None
    reached = frozenset(stages[: stages.index(stage) + 1]) if stage is not None else frozenset()
    distinct = {
        (events, days): sum(1 for event in events if event_counts.get((event, days), 0) > 0)
        for events, days in config.distinct_keys
    }
    return UserFacts(
        traits=traits if isinstance(traits, Mapping) else {},
        account_traits=account_traits if isinstance(account_traits, Mapping) else {},
        stage=stage,
        reached_stages=reached,
        event_counts=event_counts,
        distinct_counts=distinct,
    )


def guide_content(
    guide: LiveGuide, state: UserGuideState | None, completed_items: Collection[int] = ()
) -> dict[str, Any]:
    """What the snippet receives for one guide: its payload with the user's state added.

    A new dict on every call (the cached payload is shared); nested values are shared too,
    except a checklist's items, which are copied to carry their ``completed`` flag.
    """
    state = state or UserGuideState()
    content = dict(guide.payload)
    content["state"] = {"seen_count": state.seen_count, "dismissed": state.dismissed, "completed": state.completed}
    content["experiment"] = None
    if guide.kind == Guide.Kind.CHECKLIST:
        body = dict(content.get("content") or {})
        body["items"] = [{**item, "completed": item["id"] in completed_items} for item in body.get("items") or ()]
        content["content"] = body
    return content
