"""Running experiments plug into the content decision here: variants, holdouts and exposures.

The public ``content`` endpoint decides which live guides a user sees (targeting, frequency,
throttle) and hands them to ``guides_for_user``, which applies every running experiment:

- **A/B** — an experiment owns its variants' guides. A user *takes part* when the decision
  picked any of those guides (so the variant can change what they see), they pass the
  experiment's stage and segment targeting, and the hash puts them inside the traffic share.
  A participant keeps only their own variant's guide — at its pinned version when the
  variant pins one — and loses the others; a variant without a guide shows none of them.
  Everyone else (outside the traffic share, not targeted, unknown users) gets the control
  experience, untagged. A variant's guide is shown only when the decision picked it, so give
  all variant guides the same targeting.
- **Holdout** — a user takes part when the decision picked any guide at all; the control
  (the holdout) then gets no guides, the other variant gets them unchanged.
- A *stopped* experiment keeps giving everyone the control experience of an A/B test (and
  no holdout) until it is decided, so treatments do not leak between stop and decision.

Assignment is ``experiments.bucketing.assign(salt, unit id, traffic share, weights)`` with the
unit ``user:<EndUser pk>`` or, for account randomisation, ``account:<Account pk>`` (colleagues
share a variant; users without an account are their own unit). The pk is stable from anonymous
to identified because identify keeps one row; when two rows are merged, ``exposures_merge``
moves the exposures and the earlier one wins, so the person keeps the variant they saw first.
Stored exposures are read before hashing, which keeps every participant sticky.

Cost per request: nothing when the application has no applicable experiment; otherwise one
query for this user's exposures, plus one insert the first time (``ON CONFLICT DO NOTHING``),
plus the segment's counters when an experiment has a segment. Plans are cached per process
and rebuilt when ``Application.config_version`` moves (starting, stopping and deciding bump it).
"""
from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime

from experiments.bucketing import assign
from experiments.models import Experiment, Exposure
from experiments.selectors import ExperimentPlan, VariantPlan, experiment_plans_load, user_in_segment

logger = logging.getLogger("experiments")

_cache: dict[int, tuple[tuple[int, str], tuple[ExperimentPlan, ...]]] = {}
_lock = threading.Lock()
MAX_CACHED_APPLICATIONS = 256


def experiment_plans_get(*, application) -> tuple[ExperimentPlan, ...]:
    """The application's applicable experiments, cached until its configuration version moves."""
    version = (application.config_version, application.publishable_key)
    cached = _cache.get(application.id)
    if cached is not None and cached[0] == version:
        return cached[1]
    plans = experiment_plans_load(application_id=application.id)
    with _lock:
        _cache.pop(application.id, None)
        while len(_cache) >= MAX_CACHED_APPLICATIONS:
            _cache.pop(next(iter(_cache)))
        _cache[application.id] = (version, plans)
    return plans


def experiment_plans_clear() -> None:
    with _lock:
        _cache.clear()


def unit_id_for(plan: ExperimentPlan, user) -> str:
    if plan.unit == Experiment.Unit.ACCOUNT and user.account_id:
        return f"account:{user.account_id}"
    return f"user:{user.pk}"


def variant_for(plan: ExperimentPlan, unit_id: str) -> VariantPlan | None:
    """The unit's variant, or None when it falls outside the traffic share."""
    index = assign(plan.salt, unit_id, plan.traffic_share, plan.weights)
    return None if index is None else plan.variants[index]


def guides_for_user(*, application, user, guides: list[dict], now: datetime) -> list[dict]:
    """Apply running experiments to the decided guides for this user: drop or swap guides per the
    user's variant, set payload["experiment"] = {"id", "variant"} on guides under test, and record
    exposures once per user per experiment. ``user`` is the EndUser or None for an unknown user."""
    for payload in guides:
        payload.setdefault("experiment", None)
    plans = experiment_plans_get(application=application)
    if not plans or not guides:
        return guides
    plans = sorted(plans, key=lambda plan: (plan.kind != Experiment.Kind.HOLDOUT, plan.id))
    candidates = {plan.id for plan in plans if plan.status == Experiment.Status.RUNNING and _eligible(plan, guides)}
    stored: dict[int, int] = {}
    if user is not None and candidates:
        stored = dict(
            Exposure.objects.filter(user_id=user.pk, experiment_id__in=candidates).values_list(
                "experiment_id", "variant_id"
            )
        )
    new_exposures: list[Exposure] = []
    for plan in plans:
        if not _eligible(plan, guides):
            continue
        variant = None
        if plan.id in candidates and user is not None:
            variant = _participant_variant(plan, user, stored, application, now, new_exposures)
        guides = _apply(plan, variant, guides)
        if not guides:
            break
    if new_exposures:
        Exposure.objects.bulk_create(new_exposures, ignore_conflicts=True)
        for exposure in new_exposures:
            logger.info(
                "experiment.exposed",
                extra={"experiment_id": exposure.experiment_id, "variant_id": exposure.variant_id, "user_pk": user.pk},
            )
    return guides


def _eligible(plan: ExperimentPlan, guides: list[dict]) -> bool:
    """Whether the user's variant of ``plan`` could change what these guides show."""
    if plan.kind == Experiment.Kind.HOLDOUT:
        return bool(guides)
    own = plan.guide_ids
    return any(payload["id"] in own for payload in guides)


def _participant_variant(plan, user, stored, application, now, new_exposures) -> VariantPlan | None:
    by_id = {variant.id: variant for variant in plan.variants}
    if plan.id in stored:  # sticky: what was recorded wins over today's hash (merged users)
        return by_id.get(stored[plan.id])
    if plan.stage_ids and user.stage_id not in plan.stage_ids:
        return None
    if plan.segment_rule is not None and not user_in_segment(
        application=application, user=user, rule=plan.segment_rule, today=now.astimezone(UTC).date()
    ):
        return None
    unit_id = unit_id_for(plan, user)
    variant = variant_for(plan, unit_id)
    if variant is not None:
        new_exposures.append(
            Exposure(experiment_id=plan.id, variant_id=variant.id, user_id=user.pk, unit_id=unit_id, exposed_at=now)
        )
    return variant


def _apply(plan: ExperimentPlan, variant: VariantPlan | None, guides: list[dict]) -> list[dict]:
    """The guides as ``variant`` shows them; ``None`` means not taking part (control, untagged)."""
    if plan.kind == Experiment.Kind.HOLDOUT:
        if variant is not None and variant.is_control:
            return []
        return guides
    shown = variant if variant is not None else plan.control
    keep = shown.guide_id if shown is not None else None
    result = []
    for payload in guides:
        if payload["id"] not in plan.guide_ids:
            result.append(payload)
        elif payload["id"] == keep:
            if shown.pinned_payload is not None:
                payload = _pinned(payload, shown.pinned_payload)
            if variant is not None:
                payload = {**payload, "experiment": {"id": plan.id, "variant": variant.key}}
            result.append(payload)
    return result


def _pinned(decided: dict, pinned: dict) -> dict:
    """The pinned version's content with the user's state from the decided (live) payload."""
    payload = {**pinned, "state": decided.get("state"), "experiment": decided.get("experiment")}
    if payload.get("type") == "checklist":
        done = {item["id"] for item in (decided.get("content") or {}).get("items") or () if item.get("completed")}
        body = dict(payload.get("content") or {})
        body["items"] = [{**item, "completed": item["id"] in done} for item in body.get("items") or ()]
        payload["content"] = body
    return payload
