"""Hooks the analytics pipeline calls: exposures reported by clients, and user merges.

Registered in ``wayline/settings.py`` (``WAYLINE_INGEST_HOOKS``, ``WAYLINE_USER_MERGE_HOOKS``);
analytics imports them by dotted path and never imports experiments.
"""
import logging
from datetime import datetime

from django.utils.dateparse import parse_datetime

from analytics.models import EndUser
from experiments.assignment import unit_id_for, variant_for
from experiments.models import Experiment, Exposure
from experiments.selectors import experiment_plans_load
from experiments.services import exposures_merge

logger = logging.getLogger("experiments")

EXPOSURE_EVENT = "$exposure"


def exposures_from_events(*, application_id: int, events: list[dict]) -> int:
    """Record ``$exposure`` events (properties ``experiment_id``, ``variant``) as exposures.

    For clients that know better than the content decision when a variant first mattered (a
    manual trigger, a server-rendered variant). The client never chooses the variant: the event
    counts only when its variant is the user's stored one or, without one, what the hash gives,
    and only for a running experiment of this application. Returns how many it recorded
    (an exposure recorded concurrently by the content decision wins; nothing is counted twice).
    """
    wanted = [event for event in events if event["name"] == EXPOSURE_EVENT]
    if not wanted:
        return 0
    plans = {plan.id: plan for plan in experiment_plans_load(application_id=application_id)}
    users = {event["user_id"] for event in wanted}
    stored = {
        (experiment_id, user_id): variant_id
        for experiment_id, user_id, variant_id in Exposure.objects.filter(
            user_id__in=users, experiment_id__in=list(plans)
        ).values_list("experiment_id", "user_id", "variant_id")
    }
    accounts = dict(EndUser.objects.filter(pk__in=users).values_list("pk", "account_id"))
    rows = {}
    for event in wanted:
        properties = event.get("properties") or {}
        plan = plans.get(properties.get("experiment_id"))
        if plan is None or plan.status != Experiment.Status.RUNNING or (plan.id, event["user_id"]) in stored:
            continue
        user = _UnitUser(pk=event["user_id"], account_id=accounts.get(event["user_id"]))
        unit_id = unit_id_for(plan, user)
        variant = variant_for(plan, unit_id)
        if variant is None or variant.key != properties.get("variant"):
            logger.warning(
                "experiment.exposure_mismatch",
                extra={"experiment_id": plan.id, "user_pk": user.pk, "reported": properties.get("variant")},
            )
            continue
        rows.setdefault((plan.id, user.pk), Exposure(
            experiment_id=plan.id, variant_id=variant.id, user_id=user.pk, unit_id=unit_id,
            exposed_at=_timestamp(event["timestamp"]),
        ))
    if rows:
        Exposure.objects.bulk_create(list(rows.values()), ignore_conflicts=True)
    return len(rows)


class _UnitUser:
    """What ``unit_id_for`` reads of a user, without loading the row."""

    def __init__(self, *, pk: int, account_id: int | None):
        self.pk, self.account_id = pk, account_id


def _timestamp(value) -> datetime:
    return value if isinstance(value, datetime) else parse_datetime(value)


def exposures_on_user_merge(*, application_id: int, source_user_id: int, target_user_id: int) -> None:
    """``WAYLINE_USER_MERGE_HOOKS`` entry: the merged person keeps the variant they saw first."""
    exposures_merge(from_user=source_user_id, to_user=target_user_id)


def exposures_on_user_erase(*, application_id: int, user_pk: int) -> dict[str, int]:
    """``WAYLINE_USER_ERASE_HOOKS`` entry: the erased user's exposures (their assignments) go too.

    Assignment itself is a hash and stores nothing; the exposure rows are what records it.
    """
    deleted, _ = Exposure.objects.filter(experiment__application_id=application_id, user_id=user_pk).delete()
    logger.info("exposures.erased", extra={"application_id": application_id, "user_pk": user_pk, "rows": deleted})
    return {Exposure._meta.label_lower: deleted}
