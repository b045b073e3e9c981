"""Which users are in a segment, as a filter reports can put into SQL.

Simple trait rules become ORM filters on the JSON traits: ``all``/``any`` of ``trait`` or
``account_trait`` conditions with ``eq`` on a string or ``in`` on a list of strings — exactly the
conditions where JSON equality in SQL matches ``onboarding.rules.evaluate`` on both databases.
Any other rule (numbers, ``neq``, ``regex``, ``not``, behaviour, stage…) is evaluated in Python
with ``rules.evaluate`` over the application's users, and the matching ids are materialised in
``SegmentMembership`` (refreshed when older than ``max_age``), which SQL then reads.
"""
from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta
from typing import Any

from django.db import models, transaction
from django.db.models import Count, Q, Sum
from django.db.models.fields.json import KeyTransform

from analytics.models import (
    EndUser,
    SegmentMembership,
    SegmentMembershipRefresh,
    UserEventDaily,
)
from onboarding.models import JourneyStage, Segment
from onboarding.rules import UserFacts, evaluate, required_counters

logger = logging.getLogger("analytics")

MEMBERSHIP_MAX_AGE = timedelta(minutes=15)
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,63}$")
_RESERVED = set(models.JSONField.get_lookups()) | set(KeyTransform.get_lookups())


def rule_to_q(rule: Any, *, prefix: str = "") -> Q | None:
    """An ORM filter on ``EndUser`` (fields under ``prefix``) equal to the rule, or None if not exact."""
    if rule is None:
        return Q()
    if not isinstance(rule, dict) or len(rule) == 0:
        return None
    if "all" in rule or "any" in rule:
        kind = "all" if "all" in rule else "any"
        children = [rule_to_q(child, prefix=prefix) for child in rule[kind]]
        if any(child is None for child in children):
            return None
        if not children:
            return Q() if kind == "all" else Q(**{f"{prefix}pk__in": []})
        combined = children[0]
        for child in children[1:]:
            combined = (combined & child) if kind == "all" else (combined | child)
        return combined
    for kind, path in (("trait", "traits"), ("account_trait", "account__traits")):
        if kind in rule:
            key, op, value = rule[kind], rule.get("op"), rule.get("value")
            if not isinstance(key, str) or not _NAME.match(key) or "__" in key or key in _RESERVED:
                return None
            if op == "eq" and isinstance(value, str):
                return Q(**{f"{prefix}{path}__{key}": value})
            if op == "in" and isinstance(value, list) and value and all(isinstance(v, str) for v in value):
                return Q(**{f"{prefix}{path}__{key}__in": value})
            return None
    return None


def segment_q(segment: Segment, *, prefix: str = "", now: datetime) -> tuple[Q, str]:
    """A filter for the segment's users and how it was made: ``"sql"`` or ``"python"``."""
    q = rule_to_q(segment.rule, prefix=prefix)
    if q is not None:
        return q, "sql"
    refresh = SegmentMembershipRefresh.objects.filter(segment=segment).first()
    if refresh is None or refresh.refreshed_at < now - MEMBERSHIP_MAX_AGE or refresh.refreshed_at > now:
        segment_members_refresh(segment=segment, now=now)
    members = SegmentMembership.objects.filter(segment=segment).values("user_id")
    return Q(**{f"{prefix}id__in": members}), "python"


def segment_members_refresh(*, segment: Segment, now: datetime) -> int:
    """Evaluate the segment's rule for every user of its application and store who matches."""
    users = EndUser.objects.filter(application_id=segment.application_id)
    stages = list(JourneyStage.objects.filter(application_id=segment.application_id).order_by("order"))
    slugs = {stage.id: stage.slug for stage in stages}
    earlier = {stage.id: frozenset(s.slug for s in stages if s.order <= stage.order) for stage in stages}
    events, distinct = required_counters(segment.rule)
    today = now.date()
    event_counts = {key: _event_counts(users, key, today) for key in events}
    distinct_counts = {key: _distinct_counts(users, key, today) for key in distinct}
    members = []
    rows = users.values_list("id", "traits", "account__traits", "stage_id").iterator(chunk_size=5000)
    for user_id, traits, account_traits, stage_id in rows:
        facts = UserFacts(
            traits=traits or {},
            account_traits=account_traits or {},
            stage=slugs.get(stage_id),
            reached_stages=earlier.get(stage_id, frozenset()),
            event_counts={key: counts.get(user_id, 0) for key, counts in event_counts.items()},
            distinct_counts={key: counts.get(user_id, 0) for key, counts in distinct_counts.items()},
        )
        if evaluate(segment.rule, facts):
            members.append(user_id)
    with transaction.atomic():
        SegmentMembership.objects.filter(segment=segment).delete()
        SegmentMembership.objects.bulk_create(
            (SegmentMembership(segment=segment, user_id=user_id) for user_id in members), batch_size=5000
        )
        SegmentMembershipRefresh.objects.update_or_create(
            segment=segment, defaults={"refreshed_at": now, "members": len(members)}
        )
    logger.info("segment.members_refreshed", extra={"segment_id": segment.id, "members": len(members)})
    return len(members)


def _window(days: int | None, today) -> Q:
    # Same calendar-day windows as the content decision: today and the days - 1 before it.
    return Q(day__gte=today - timedelta(days=days - 1)) if days else Q()


def _event_counts(users, key: tuple[str, int | None], today) -> dict[int, int]:
    event, days = key
    rows = (
        UserEventDaily.objects.filter(_window(days, today), user__in=users, name=event)
        .values("user_id").annotate(total=Sum("count"))
    )
    return {row["user_id"]: row["total"] for row in rows}


def _distinct_counts(users, key: tuple[tuple[str, ...], int | None], today) -> dict[int, int]:
    names, days = key
    rows = (
        UserEventDaily.objects.filter(_window(days, today), user__in=users, name__in=names, count__gt=0)
        .values("user_id").annotate(total=Count("name", distinct=True))
    )
    return {row["user_id"]: row["total"] for row in rows}
