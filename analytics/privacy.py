"""Right to erasure and right of access for one end user: ``end_user_erase`` and ``end_user_export``.

Both find every row that points at the user through the model graph (``EndUser._meta``), so a
model added later with a foreign key to ``EndUser`` is covered without a change here: events,
aliases, daily counters, stage transitions, guide state, checklist completions, survey answers,
segment memberships, activity rollups — and the rows of higher apps (experiment exposures).

Higher apps may also hold data about a user that no foreign key reaches. They register a hook
in ``WAYLINE_USER_ERASE_HOOKS`` (dotted paths, as ``WAYLINE_USER_MERGE_HOOKS``), called as
``hook(application_id=…, user_pk=…)`` inside the erasure's transaction before the generic sweep;
it deletes what it holds and returns ``{"app_label.model": rows}``. Analytics never imports them.

Every erasure leaves an ``EndUserErasure`` row (who asked, how, when, rows per table) and a log
line with ids and counts only: the audit must not keep the personal data it records the removal
of.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string

from analytics.models import EndUser, EndUserErasure
from onboarding.models import Application

logger = logging.getLogger("analytics")

EXPORT_FORMAT = 1  # bumped when the layout of an export changes


class EndUserNotFound(LookupError):
    """No user with that external id in that application."""


@dataclass(frozen=True)
class ErasureResult:
    erasure_id: int
    rows_deleted: dict[str, int]  # "app_label.model" -> rows

    @property
    def total_rows(self) -> int:
        return sum(self.rows_deleted.values())


def _user_relations():
    """(model, field name) of every foreign key to ``EndUser``, in a stable order."""
    relations = [
        (relation.related_model, relation.field.name)
        for relation in EndUser._meta.related_objects
        if relation.field.many_to_one or relation.field.one_to_one
    ]
    return sorted(relations, key=lambda pair: pair[0]._meta.label_lower)


def _user_get(application: Application, external_id: str, *, for_update: bool = False) -> EndUser:
    users = EndUser.objects.filter(application=application, external_id=external_id)
    if for_update:
        users = users.select_for_update()
    user = users.first()
    if user is None:
        raise EndUserNotFound(f"No user with id {external_id!r} in this application.")
    return user


@lru_cache(maxsize=8)
def _erase_hooks(paths: tuple[str, ...]) -> tuple:
    return tuple(import_string(path) for path in paths)


def end_user_erase(*, application: Application, external_id: str, by: str,
                   via: str = EndUserErasure.Via.COMMAND) -> ErasureResult:
    """Delete one identified user and everything that refers to them; record the erasure.

    Runs in one transaction with the user's row locked, so an ingest batch writing for this user
    at the same moment either commits before (and is erased) or waits and fails its foreign key
    (and is retried, as a new user). Events still waiting in the Redis buffer are written after
    the erasure and create a new user row: erase again once the consumer has caught up (see
    docs/developers.md). Raises ``EndUserNotFound`` for an unknown id.
    """
    now = timezone.now()
    with transaction.atomic():
        user = _user_get(application, external_id, for_update=True)
        rows: dict[str, int] = {}
        for hook in _erase_hooks(tuple(getattr(settings, "WAYLINE_USER_ERASE_HOOKS", ()))):
            for label, count in hook(application_id=application.id, user_pk=user.pk).items():
                rows[label] = rows.get(label, 0) + count
        for model, field in _user_relations():
            # Plain DELETE ... WHERE user_id = %s: none of these rows is referenced by another
            # model, so Django deletes them in one statement without loading them.
            deleted, _ = model._base_manager.filter(**{field: user.pk}).delete()
            label = model._meta.label_lower
            rows[label] = rows.get(label, 0) + deleted
        EndUser.objects.filter(pk=user.pk).delete()
        rows[EndUser._meta.label_lower] = 1
        rows = {label: count for label, count in sorted(rows.items()) if count}
        erasure = EndUserErasure.objects.create(
            application=application, end_user_pk=user.pk, requested_by=by[:200], via=via,
            rows_deleted=rows, total_rows=sum(rows.values()), erased_at=now,
        )
    logger.info(
        "user.erased",
        extra={"application_id": application.id, "user_pk": user.pk, "erasure_id": erasure.pk,
               "rows": sum(rows.values()), "via": via},
    )
    return ErasureResult(erasure_id=erasure.pk, rows_deleted=rows)


def end_user_export(*, application: Application, external_id: str) -> dict:
    """Everything Wayline holds about one user, as JSON-ready data (the right of access).

    ``user`` is the user's own row (traits, account, stage, first and last seen); ``data`` maps
    each model that refers to the user (``"analytics.event"``, ``"analytics.surveyresponse"``,
    ``"experiments.exposure"``, …) to its rows, every column included, oldest first. Raises
    ``EndUserNotFound`` for an unknown id.
    """
    user = _user_get(application, external_id)
    account = user.account
    data = {}
    for model, field in _user_relations():
        rows = list(model._base_manager.filter(**{field: user.pk}).order_by("pk").values())
        data[model._meta.label_lower] = _json_ready(rows)
    logger.info("user.exported", extra={"application_id": application.id, "user_pk": user.pk})
    return {
        "format": EXPORT_FORMAT,
        "exported_at": timezone.now().isoformat(),
        "application": application.name,
        "user": _json_ready({
            "user_id": user.external_id,
            "traits": user.traits,
            "account": None if account is None else {"id": account.external_id, "traits": account.traits},
            "stage": user.stage.slug if user.stage_id else None,
            "stage_entered_at": user.stage_entered_at,
            "first_seen_at": user.first_seen_at,
            "last_seen_at": user.last_seen_at,
            "created_at": user.created_at,
        }),
        "data": data,
    }


def _json_ready(value):
    """Dates, UUIDs and decimals as the strings JSON carries them as."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))
