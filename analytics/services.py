"""Writes for end users: identify (upsert, traits, accounts) and merging an anonymous user into an identified one."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from analytics.ingest.derived import users_lock, users_save
from analytics.ingest.guide_events import GUIDE_STATE_COLUMNS, GUIDE_STATE_ON_CONFLICT
from analytics.ingest.stages import stages_update
from analytics.ingest.users import anonymous_users_resolve, identified_users_resolve
from analytics.ingest.validation import traits_merge
from analytics.models import Account, EndUser, UserAlias
from onboarding.models import JourneyStage

logger = logging.getLogger("analytics")


class TraitsTooLarge(ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class IdentifyResult:
    user_pk: int
    user_id: str | None  # the external id, None while anonymous
    anonymous_id: str | None
    stage: str | None  # slug of the user's journey stage


def user_identify(
    *,
    application_id: int,
    user_id: str | None,
    anonymous_id: str | None,
    traits: dict | None = None,
    account_id: str | None = None,
    account_traits: dict | None = None,
    now: datetime | None = None,
) -> IdentifyResult:
    """Upsert a user (identified and/or anonymous), merge traits, link an account, re-evaluate the stage.

    With both ids, the anonymous user's history moves to the identified user (``users_merge``) and
    the anonymous id keeps pointing at the identified user, so later events sent with it land
    there. An anonymous id already tied to a *different identified* user is left alone: two
    people shared a browser, and their histories must not be mixed.
    """
    if user_id is None and anonymous_id is None:
        raise ValueError("user_id or anonymous_id is required")
    now = now or timezone.now()
    with transaction.atomic():
        if user_id is not None:
            user_pk = _identified_user(application_id, user_id, anonymous_id)
        else:
            user_pk = anonymous_users_resolve(application_id=application_id, anonymous_ids=[anonymous_id])[anonymous_id]
        user = EndUser.objects.select_for_update().get(pk=user_pk)
        fields = []
        if traits:
            merged, problem = traits_merge(user.traits, traits)
            if problem:
                raise TraitsTooLarge("traits", problem)
            user.traits = merged
            fields.append("traits")
        if account_id is not None:
            user.account_id = account_upsert(application_id=application_id, external_id=account_id, traits=account_traits or {})
            fields.append("account")
        if fields:
            user.save(update_fields=[*fields, "updated_at"])
        users = users_lock(user_ids=[user_pk])
        stages_update(application_id=application_id, users=users, events_by_user={}, now=now)
        users_save(users=users.values())
        stage_id = users[user_pk].stage_id
    stage = JourneyStage.objects.filter(pk=stage_id).values_list("slug", flat=True).first() if stage_id else None
    logger.info("user.identified", extra={"application_id": application_id, "user_pk": user_pk})
    return IdentifyResult(user_pk=user_pk, user_id=user.external_id, anonymous_id=anonymous_id, stage=stage)


def _identified_user(application_id: int, user_id: str, anonymous_id: str | None) -> int:
    """The identified user's id, after taking over or merging the anonymous one."""
    existing = EndUser.objects.filter(application_id=application_id, external_id=user_id).values_list("id", flat=True)
    target = existing.first()
    alias = (
        UserAlias.objects.filter(application_id=application_id, anonymous_id=anonymous_id)
        .values_list("user_id", "user__external_id")
        .first()
        if anonymous_id is not None
        else None
    )
    if target is None and alias is not None and alias[1] is None:
        # The common sign-up: the anonymous user simply becomes the identified one, nothing moves.
        try:
            with transaction.atomic():
                if EndUser.objects.filter(pk=alias[0], external_id__isnull=True).update(external_id=user_id):
                    return alias[0]
        except IntegrityError:
            pass  # someone identified this user id a moment ago: merge into theirs below
    if target is None:
        target = identified_users_resolve(application_id=application_id, external_ids=[user_id])[user_id]
    if anonymous_id is None:
        return target
    if alias is None:
        UserAlias.objects.bulk_create(
            [UserAlias(application_id=application_id, anonymous_id=anonymous_id, user_id=target)], ignore_conflicts=True
        )
        alias = (
            UserAlias.objects.filter(application_id=application_id, anonymous_id=anonymous_id)
            .values_list("user_id", "user__external_id")
            .first()
        )
    if alias[0] != target:
        if alias[1] is None:
            users_merge(application_id=application_id, source_id=alias[0], target_id=target)
        else:
            logger.info(
                "user.alias_kept",
                extra={"application_id": application_id, "alias_user_pk": alias[0], "user_pk": target},
            )
    return target


def account_upsert(*, application_id: int, external_id: str, traits: dict) -> int:
    """Create the account if needed and merge ``traits`` into it; returns its id."""
    Account.objects.bulk_create([Account(application_id=application_id, external_id=external_id)], ignore_conflicts=True)
    account = Account.objects.select_for_update().get(application_id=application_id, external_id=external_id)
    if traits:
        merged, problem = traits_merge(account.traits, traits)
        if problem:
            raise TraitsTooLarge("account.traits", problem)
        account.traits = merged
        account.save(update_fields=["traits", "updated_at"])
    return account.id


MERGE_STATEMENTS = (
    "UPDATE analytics_event SET user_id = %(target)s WHERE user_id = %(source)s",
    # Daily counters of the same event and day add up.
    "INSERT INTO analytics_usereventdaily (user_id, name, day, count) "
    "SELECT %(target)s, name, day, count FROM analytics_usereventdaily WHERE user_id = %(source)s "
    "ON CONFLICT (user_id, name, day) DO UPDATE SET count = analytics_usereventdaily.count + excluded.count",
    "DELETE FROM analytics_usereventdaily WHERE user_id = %(source)s",
    f"INSERT INTO analytics_guidestate ({GUIDE_STATE_COLUMNS}) "
    f"SELECT %(target)s, {GUIDE_STATE_COLUMNS.split(', ', 1)[1]} FROM analytics_guidestate WHERE user_id = %(source)s "
    + GUIDE_STATE_ON_CONFLICT,
    "DELETE FROM analytics_guidestate WHERE user_id = %(source)s",
    # A checklist item completed by both counts from the first completion.
    "INSERT INTO analytics_checklistitemcompletion (user_id, item_id, completed_at) "
    "SELECT %(target)s, item_id, completed_at FROM analytics_checklistitemcompletion WHERE user_id = %(source)s "
    "ON CONFLICT (user_id, item_id) DO UPDATE SET completed_at = CASE "
    "WHEN excluded.completed_at < analytics_checklistitemcompletion.completed_at THEN excluded.completed_at "
    "ELSE analytics_checklistitemcompletion.completed_at END",
    "DELETE FROM analytics_checklistitemcompletion WHERE user_id = %(source)s",
    "UPDATE analytics_surveyresponse SET user_id = %(target)s WHERE user_id = %(source)s",
    "UPDATE analytics_stagetransition SET user_id = %(target)s WHERE user_id = %(source)s AND NOT EXISTS ("
    "SELECT 1 FROM analytics_stagetransition other WHERE other.user_id = %(target)s "
    "AND other.to_stage_id = analytics_stagetransition.to_stage_id AND other.at = analytics_stagetransition.at)",
    "DELETE FROM analytics_stagetransition WHERE user_id = %(source)s",
    "UPDATE analytics_useralias SET user_id = %(target)s WHERE user_id = %(source)s",
)


@transaction.atomic
def users_merge(*, application_id: int, source_id: int, target_id: int) -> None:
    """Move everything of user ``source_id`` to ``target_id`` (same application), then delete the source.

    Rows are re-pointed with UPDATEs; where the target already has a row with the same unique
    key, the two are combined (counts add up, first times take the earliest, last times the
    latest). The target keeps its traits and account, taking the source's only where it has
    none, and the further of the two journey stages. Hooks in ``WAYLINE_USER_MERGE_HOOKS`` are
    called as ``hook(application_id=…, source_user_id=…, target_user_id=…)`` before the source
    row is deleted, so higher apps (experiments) can move their own rows.
    """
    if source_id == target_id:
        return
    users = {
        user.pk: user
        for user in EndUser.objects.select_for_update()
        .filter(application_id=application_id, pk__in=sorted([source_id, target_id]))
        .order_by("pk")
    }
    if len(users) != 2:
        raise ValueError("both users must exist and belong to the application")
    source, target = users[source_id], users[target_id]
    with connection.cursor() as cursor:
        for statement in MERGE_STATEMENTS:
            cursor.execute(statement, {"source": source_id, "target": target_id})
    target.traits = {**(source.traits or {}), **(target.traits or {})}
    target.account_id = target.account_id or source.account_id
    target.first_seen_at = min(filter(None, [source.first_seen_at, target.first_seen_at]), default=None)
    target.last_seen_at = max(filter(None, [source.last_seen_at, target.last_seen_at]), default=None)
    orders = dict(JourneyStage.objects.filter(pk__in=[s for s in (source.stage_id, target.stage_id) if s]).values_list("id", "order"))
    if source.stage_id and (not target.stage_id or orders[source.stage_id] > orders[target.stage_id]):
        target.stage_id, target.stage_entered_at = source.stage_id, source.stage_entered_at
    for hook in _merge_hooks(tuple(getattr(settings, "WAYLINE_USER_MERGE_HOOKS", ()))):
        hook(application_id=application_id, source_user_id=source_id, target_user_id=target_id)
    EndUser.objects.filter(pk=source_id).delete()
    target.save()
    logger.info("user.merged", extra={"application_id": application_id, "source_pk": source_id, "target_pk": target_id})


@lru_cache(maxsize=8)
def _merge_hooks(paths: tuple[str, ...]) -> tuple:
    return tuple(import_string(path) for path in paths)
