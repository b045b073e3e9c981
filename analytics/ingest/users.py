"""Resolve external and anonymous ids to ``EndUser`` rows in bulk, creating the missing ones.

Creation is race-safe without locks: rows are inserted with ``ON CONFLICT DO NOTHING`` and then
selected, so two writers that see the same new id at once both end up with the one row that won.
An anonymous id is an ``UserAlias`` pointing at a user; when two writers create a user for the
same new anonymous id, the alias insert decides which user is real and the other is deleted.
Ids are handled in sorted order so concurrent transactions take row locks in the same order.
"""
from __future__ import annotations

from collections.abc import Iterable

from analytics.ingest.bulk_sql import any_of
from analytics.models import EndUser, UserAlias


def identified_users_resolve(*, application_id: int, external_ids: Iterable[str]) -> dict[str, int]:
    """external id -> ``EndUser`` id, creating users that do not exist yet."""
    wanted = sorted(set(external_ids))
    if not wanted:
        return {}
    found = _identified(application_id, wanted)
    missing = [external_id for external_id in wanted if external_id not in found]
    if missing:
        EndUser.objects.bulk_create(
            [EndUser(application_id=application_id, external_id=external_id) for external_id in missing],
            ignore_conflicts=True,
        )
        found.update(_identified(application_id, missing))
    return found


def anonymous_users_resolve(*, application_id: int, anonymous_ids: Iterable[str]) -> dict[str, int]:
    """anonymous id -> ``EndUser`` id (after merges, the identified user), creating missing ones."""
    wanted = sorted(set(anonymous_ids))
    if not wanted:
        return {}
    found = _aliased(application_id, wanted)
    missing = [anonymous_id for anonymous_id in wanted if anonymous_id not in found]
    if missing:
        created = EndUser.objects.bulk_create([EndUser(application_id=application_id) for _ in missing])
        UserAlias.objects.bulk_create(
            [
                UserAlias(application_id=application_id, anonymous_id=anonymous_id, user_id=user.pk)
                for anonymous_id, user in zip(missing, created)
            ],
            ignore_conflicts=True,
        )
        winners = _aliased(application_id, missing)
        losers = [user.pk for anonymous_id, user in zip(missing, created) if winners.get(anonymous_id) != user.pk]
        if losers:  # another writer created the alias first; our users were never referenced
            EndUser.objects.filter(pk__in=losers).delete()
        found.update(winners)
    return found


def event_users_resolve(*, application_id: int, events: list[dict]) -> None:
    """Set ``user_pk`` on each validated event dict from its ``user_id`` or ``anonymous_id``."""
    identified = identified_users_resolve(
        application_id=application_id, external_ids=(e["user_id"] for e in events if e["user_id"] is not None)
    )
    anonymous = anonymous_users_resolve(
        application_id=application_id,
        anonymous_ids=(e["anonymous_id"] for e in events if e["user_id"] is None),
    )
    for event in events:
        event["user_pk"] = identified[event["user_id"]] if event["user_id"] is not None else anonymous[event["anonymous_id"]]


def _identified(application_id: int, external_ids: list[str]) -> dict[str, int]:
    return dict(
        EndUser.objects.filter(any_of("analytics_enduser.external_id", external_ids, "text"))
        .filter(application_id=application_id)
        .values_list("external_id", "id")
    )


def _aliased(application_id: int, anonymous_ids: list[str]) -> dict[str, int]:
    return dict(
        UserAlias.objects.filter(any_of("analytics_useralias.anonymous_id", anonymous_ids, "text"))
        .filter(application_id=application_id)
        .values_list("anonymous_id", "user_id")
    )
