"""The visual builder's server side: who may open it, and what it is told.

``builder_session_get`` is what the snippet's loader asks before it loads the builder bundle at
all. A token is refused when it is forged or expired, made for another application than the
page's publishable key, or made for a user who can no longer edit guides. What the builder
receives is configuration only (the draft's steps for a preview, the theme): never anything about
end users.
"""
import logging
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.contrib.auth import get_user_model
from django.core.cache import cache

from onboarding.builder_tokens import BUILDER_TOKEN_SECONDS, BuilderGrant, builder_token_make, builder_token_read
from onboarding.models import Application, Guide
from onboarding.payloads import guide_payload

logger = logging.getLogger("onboarding")

TOKEN_PARAMETER = "wayline_builder"
FRAGILITIES = ("low", "medium", "high")
PICK_LIMITS = {"selector": 500, "label": 200, "strategy": 200}
# Any of these lets a staff user edit guides (the proxies are what the admin checks per kind).
GUIDE_CHANGE_PERMISSIONS = tuple(
    f"onboarding.change_{model}" for model in ("guide", "tourguide", "checklistguide", "barguide", "surveyguide")
)


class BuilderRefused(Exception):
    """The token does not open the builder here; the message says why, for the PM."""


class BuilderGuideGone(Exception):
    """The previewed guide was deleted or moved since the link was made."""


@dataclass(frozen=True)
class BuilderSession:
    grant: BuilderGrant
    guide: dict | None  # the draft's payload (id, name, type, content), previews only


def user_can_build(user) -> bool:
    return bool(user and user.is_active and user.is_staff and any(user.has_perm(p) for p in GUIDE_CHANGE_PERMISSIONS))


def builder_session_get(*, token: str, application: Application, now: float | None = None) -> BuilderSession:
    """The session a builder token opens on a page running ``application``'s snippet."""
    grant = builder_token_read(token, now=now)
    if grant is None:
        raise BuilderRefused("This builder link is not valid or has expired: open a new one from the guide's admin page.")
    if grant.application_id != application.id:
        raise BuilderRefused(
            "This builder link was made for another application than the one installed on this page: "
            "check the page URL, or pick the right application in the guide."
        )
    user = get_user_model().objects.filter(pk=grant.user_id).first()
    if not user_can_build(user):
        raise BuilderRefused("The staff user who opened this builder link can no longer edit guides.")
    guide = None
    if grant.guide_id is not None:
        draft = (
            Guide.objects.filter(pk=grant.guide_id, application_id=application.id)
            .prefetch_related("steps", "items", "buttons", "stages", "url_rules")
            .first()
        )
        if draft is None:
            raise BuilderGuideGone("The guide of this builder link no longer exists.")
        payload = guide_payload(draft, version=0)
        guide = {key: payload[key] for key in ("id", "name", "type", "content")}
    logger.info("builder.opened", extra={"application_id": application.id, "user_id": grant.user_id, "mode": grant.mode})
    return BuilderSession(grant=grant, guide=guide)


def builder_link_make(
    *, page_url: str, application: Application, user, mode: str, admin_origin: str, guide: Guide | None = None,
    nonce: str = "",
) -> str:
    """``page_url`` with a fresh builder token in its query (replacing any older one).

    Raises ``ValueError`` with a message for the PM when the URL is not an http(s) page.
    """
    parts = urlsplit(page_url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("Give the full address of a page of your app, e.g. https://app.example.com/settings.")
    if guide is not None and guide.application_id != application.id:
        raise ValueError("This guide belongs to another application.")
    if mode == "preview" and guide is None:
        raise ValueError("Save the guide before previewing it.")
    token = builder_token_make(
        application_id=application.id, user_id=user.pk, mode=mode, admin_origin=admin_origin,
        guide_id=guide.pk if guide is not None else None, nonce=nonce,
    )
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != TOKEN_PARAMETER]
    query.append((TOKEN_PARAMETER, token))
    return urlunsplit(parts._replace(query=urlencode(query)))


# --- picks the admin fetches, for pages that cut the popup off from its opener --------------
# A page sent with "Cross-Origin-Opener-Policy: same-origin" (Django's default) has no
# window.opener, so the builder also stores its pick here, under the token's nonce and user, and
# the admin form polls for it. Kept in the cache (Redis when configured) for the token's lifetime.


def _pick_key(*, user_id: int, nonce: str) -> str:
    return f"wayline:builder-pick:{user_id}:{nonce}"


def builder_pick_store(*, session: BuilderSession, pick: dict) -> None:
    """Keep a pick for the admin; raises ``ValueError`` naming the field that is wrong."""
    grant = session.grant
    if grant.mode != "pick" or not grant.nonce:
        raise ValueError("token: this builder link is not for picking an element.")
    clean = {}
    for field, limit in PICK_LIMITS.items():
        value = pick.get(field)
        if not isinstance(value, str) or not value.strip() or len(value) > limit:
            raise ValueError(f"{field}: must be a non-empty text of at most {limit} characters.")
        clean[field] = value.strip()
    fragility = pick.get("fragility")
    if fragility is not None and fragility not in FRAGILITIES:
        raise ValueError(f"fragility: must be one of {', '.join(FRAGILITIES)}, or null.")
    clean["fragility"] = fragility
    cache.set(_pick_key(user_id=grant.user_id, nonce=grant.nonce), clean, timeout=BUILDER_TOKEN_SECONDS)


def builder_pick_take(*, user, nonce: str) -> dict | None:
    """The pick the builder stored for this user and nonce, once (later calls get None)."""
    key = _pick_key(user_id=user.pk, nonce=nonce)
    pick = cache.get(key)
    if pick is not None:
        cache.delete(key)
    return pick
