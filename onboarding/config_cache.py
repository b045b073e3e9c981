"""An application's published configuration, cached in this process and rebuilt when its version changes.

Every publish, unpublish, archive, segment save and application save bumps
``Application.config_version`` (``services.application_config_changed``). Each request reads
that version — with one cheap query, or inside a query it makes anyway (the content decision's
``analytics.facts`` selects it with the user) — and the cache is rebuilt, five queries, only
when it moved. Each web process holds its own copy, so nothing has to be broadcast between
processes, and a change is seen by the very next request everywhere.

``published_config_build`` is a pure function of plain values, so the decision can be tested on
hand-written payloads; it also pre-computes what every request would otherwise recompute
(parsed schedules, stage sets, the URL rules split into include and exclude, the counters the
segment rules read).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import connection
from django.utils.dateparse import parse_datetime

from onboarding.models import Application, Guide, Segment
from onboarding.payloads import guide_payload
from onboarding.rules import required_counters, validate_rule
from onboarding.selectors import live_guide_payloads, stages_ordered

logger = logging.getLogger("onboarding")

MAX_CACHED_APPLICATIONS = 256


class _Never:
    """Stands for a segment rule that cannot be evaluated (invalid, or the segment is gone)."""

    def __repr__(self) -> str:
        return "NEVER"


NEVER = _Never()


@dataclass(frozen=True)
class LiveGuide:
    """One published guide: its targeting, parsed once, and the payload the snippet receives."""

    id: int
    kind: str
    priority: int
    trigger: str
    frequency: str
    max_times: int | None
    device: str
    starts_at: datetime | None
    ends_at: datetime | None
    stages: frozenset[str]
    segment_id: int | None
    include_rules: tuple[tuple[str, str], ...]  # (match type, pattern)
    exclude_rules: tuple[tuple[str, str], ...]
    item_ids: tuple[int, ...]  # checklist items, in order
    # The frozen payload without its "targeting" key. Shared by every request: never mutate it.
    payload: Mapping[str, Any] = field(repr=False, compare=False)
    automatic: bool = True  # triggered by the snippet itself, not by wayline.show(id)


@dataclass(frozen=True)
class PublishedConfig:
    application_id: int
    version: int
    guides: tuple[LiveGuide, ...]  # highest priority first, then oldest first
    by_id: Mapping[int, LiveGuide]
    # Segment id -> rule (None = everyone); NEVER when the rule cannot be evaluated.
    segment_rules: Mapping[int, Any]
    stages: tuple[str, ...]  # slugs, in journey order
    # Stage slug -> the automatic guides a user at that stage may see (no stages, or that one),
    # in priority order; None -> those without stages. Saves testing every guide's stages.
    automatic_by_stage: Mapping[str | None, tuple[LiveGuide, ...]]
    stage_slugs: Mapping[int, str]  # stage id -> slug
    # Counters the live guides' segment rules read, as ``rules.UserFacts`` keys.
    event_keys: frozenset[tuple[str, int | None]]
    distinct_keys: frozenset[tuple[tuple[str, ...], int | None]]
    # Every (event, within_days) count to fetch: the event keys plus each distinct event's own.
    counter_keys: frozenset[tuple[str, int | None]]
    theme: Mapping[str, Any]
    throttle_per_hour: int
    throttle_per_day: int
    # Every guide of the application, live or not, triggered manually (as its row said when this
    # was built): a guide no longer live still counts towards the throttle unless it is manual.
    manual_guide_ids: frozenset[int] = frozenset()


def published_config_build(
    *,
    application_id: int,
    version: int,
    payloads: Iterable[Mapping[str, Any]],
    segments: Mapping[int, Any],
    stages: Iterable[tuple[int, str]],
    theme: Mapping[str, Any],
    throttle_per_hour: int = 0,
    throttle_per_day: int = 0,
    manual_guide_ids: Iterable[int] = (),
) -> PublishedConfig:
    """Compile live payloads, segment rules (id -> rule) and stages ((id, slug) in order)."""
    stages = list(stages)
    guides = sorted((live_guide_from_payload(payload) for payload in payloads), key=lambda g: (-g.priority, g.id))
    used_segments = {guide.segment_id for guide in guides if guide.segment_id is not None}
    segment_rules = {}
    for segment_id in used_segments:
        rule = segments.get(segment_id, NEVER)
        if rule is not NEVER and validate_rule(rule):
            rule = NEVER
        if rule is NEVER:
            logger.warning(
                "config.segment_unusable", extra={"application_id": application_id, "segment_id": segment_id}
            )
        segment_rules[segment_id] = rule
    event_keys: set = set()
    distinct_keys: set = set()
    for rule in segment_rules.values():
        if rule is not NEVER:
            events, distinct = required_counters(rule)
            event_keys |= events
            distinct_keys |= distinct
    return PublishedConfig(
        application_id=application_id,
        version=version,
        guides=tuple(guides),
        by_id={guide.id: guide for guide in guides},
        segment_rules=segment_rules,
        stages=tuple(slug for _, slug in stages),
        automatic_by_stage={
            stage: tuple(g for g in guides if g.automatic and (not g.stages or stage in g.stages))
            for stage in [None, *(slug for _, slug in stages)]
        },
        stage_slugs=dict(stages),
        event_keys=frozenset(event_keys),
        distinct_keys=frozenset(distinct_keys),
        counter_keys=frozenset(event_keys | {(event, days) for events, days in distinct_keys for event in events}),
        theme=dict(theme),
        throttle_per_hour=throttle_per_hour,
        throttle_per_day=throttle_per_day,
        manual_guide_ids=frozenset(manual_guide_ids),
    )


def live_guide_from_payload(payload: Mapping[str, Any]) -> LiveGuide:
    """Parse one frozen payload (live, or a draft for preview) into a ``LiveGuide``."""
    targeting = payload.get("targeting") or {}
    rules = targeting.get("url_rules") or []
    frequency = payload.get("frequency") or {}
    content = payload.get("content") or {}
    trigger = (payload.get("trigger") or {}).get("type", Guide.Trigger.PAGE_LOAD)
    return LiveGuide(
        id=payload["id"],
        kind=payload["type"],
        priority=payload.get("priority", 0),
        trigger=trigger,
        frequency=frequency.get("type", Guide.Frequency.UNTIL_DONE),
        max_times=frequency.get("max_times"),
        device=targeting.get("device", Guide.Device.ANY),
        starts_at=_datetime(targeting.get("starts_at")),
        ends_at=_datetime(targeting.get("ends_at")),
        stages=frozenset(targeting.get("stages") or ()),
        segment_id=targeting.get("segment_id"),
        include_rules=tuple((r["match_type"], r["pattern"]) for r in rules if not r.get("exclude")),
        exclude_rules=tuple((r["match_type"], r["pattern"]) for r in rules if r.get("exclude")),
        item_ids=tuple(item["id"] for item in content.get("items") or ()) if payload["type"] == "checklist" else (),
        payload={key: value for key, value in payload.items() if key != "targeting"},
        automatic=trigger != Guide.Trigger.MANUAL,
    )


def _datetime(value: str | None) -> datetime | None:
    return parse_datetime(value) if value else None


def draft_guide_get(*, application_id: int, guide_id: int) -> LiveGuide | None:
    """The draft of one guide of the application as a ``LiveGuide`` (version 0), for previews."""
    guide = (
        Guide.objects.filter(pk=guide_id, application_id=application_id)
        .prefetch_related("steps", "items", "buttons", "stages", "url_rules")
        .first()
    )
    return live_guide_from_payload(guide_payload(guide, version=0)) if guide else None


# --- the in-process cache -------------------------------------------------------------------

_cache: dict[int, tuple[tuple, PublishedConfig]] = {}  # application id -> (version token, config)
_lock = threading.Lock()


def published_config_load(*, application_id: int) -> PublishedConfig:
    """Build the configuration from the database: five queries."""
    application = Application.objects.filter(pk=application_id).first()
    if application is None:  # deleted while a key cache still knew it: nothing to show
        return published_config_build(application_id=application_id, version=0, payloads=(), segments={},
                                      stages=(), theme={})
    segments = dict(Segment.objects.filter(application_id=application.id).values_list("id", "rule"))
    return published_config_build(
        application_id=application.id,
        version=application.config_version,
        payloads=live_guide_payloads(application=application),
        segments=segments,
        stages=[(stage.id, stage.slug) for stage in stages_ordered(application_id=application.id)],
        theme=application.theme(),
        throttle_per_hour=application.throttle_per_hour,
        throttle_per_day=application.throttle_per_day,
        manual_guide_ids=Guide.objects.filter(
            application_id=application.id, trigger=Guide.Trigger.MANUAL
        ).values_list("id", flat=True),
    )


_READ = object()


def published_config_get(*, application: Application, version_token: tuple | None | object = _READ) -> PublishedConfig:
    """The configuration of ``application``, rebuilt if its version moved.

    The version is read from the database (one query) rather than from ``application``, which
    may come from a cache of keys (``analytics.api.authentication`` keeps them for a few
    seconds). A caller that already selected the ``VERSION_COLUMNS`` of the application row in
    another query passes them as ``version_token`` and saves that query.
    """
    token = _version_token(application.id) if version_token is _READ else version_token
    cached = _cache.get(application.id)
    if cached is not None and cached[0] == token:
        return cached[1]
    config = published_config_load(application_id=application.id)
    if token is None:
        return config
    with _lock:
        _cache.pop(application.id, None)
        while len(_cache) >= MAX_CACHED_APPLICATIONS:  # drop the least recently rebuilt
            _cache.pop(next(iter(_cache)))
        # Stored under the token read before loading: the data is never older than its token.
        _cache[application.id] = (token, config)
    logger.info("config.rebuilt", extra={"application_id": application.id, "version": config.version})
    return config


def published_config_cached(*, application_id: int) -> PublishedConfig | None:
    """The configuration last built for the application, current or not; never queries."""
    cached = _cache.get(application_id)
    return cached[1] if cached is not None else None


# The application row's columns that make up its version token, as a tuple in this order.
# The creation time tells apart two applications that reuse an id (a test database rolled back).
VERSION_COLUMNS = ("config_version", "created_at")
_VERSION_SQL = f"SELECT {', '.join(VERSION_COLUMNS)} FROM {Application._meta.db_table} WHERE id = %s"


def _version_token(application_id: int) -> tuple | None:
    """The application's ``VERSION_COLUMNS``, or None when it has been deleted."""
    with connection.cursor() as cursor:
        cursor.execute(_VERSION_SQL, [application_id])
        row = cursor.fetchone()
    return tuple(row) if row is not None else None


def published_config_clear() -> None:
    """Forget every cached configuration (tests; a process that wants a clean slate)."""
    with _lock:
        _cache.clear()
