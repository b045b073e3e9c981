"""Builder tokens: a signed, minutes-long grant for one staff user to pick elements or preview a
draft on one application's pages.

The token travels in the host page's URL (``?wayline_builder=…``), so it carries no secret and no
end-user data: only ids, the mode, the admin's origin (where the builder may post back) and a
nonce naming the admin field waiting for the answer. Its expiry is part of the signed payload and
is checked against an injectable clock, so tests never wait for a token to expire.
"""
import time
from dataclasses import dataclass

from django.core import signing

BUILDER_SALT = "wayline.builder"
BUILDER_TOKEN_SECONDS = 10 * 60
MODES = ("pick", "preview")


@dataclass(frozen=True)
class BuilderGrant:
    application_id: int
    user_id: int
    mode: str  # "pick" or "preview"
    guide_id: int | None  # required for previews
    admin_origin: str  # the only origin the builder posts its answers to
    nonce: str  # echoed back so the admin knows which field the answer is for
    expires_at: int  # seconds since the epoch


def builder_token_make(
    *,
    application_id: int,
    user_id: int,
    mode: str,
    admin_origin: str,
    guide_id: int | None = None,
    nonce: str = "",
    now: float | None = None,
    lifetime: int = BUILDER_TOKEN_SECONDS,
) -> str:
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    expires_at = int(time.time() if now is None else now) + lifetime
    payload = {"a": application_id, "u": user_id, "m": mode, "g": guide_id, "o": admin_origin, "n": nonce, "e": expires_at}
    return signing.dumps(payload, salt=BUILDER_SALT, compress=True)


def builder_token_read(token: str, *, now: float | None = None) -> BuilderGrant | None:
    """The grant a token carries, or None if it is forged, malformed or expired."""
    try:
        data = signing.loads(token, salt=BUILDER_SALT)
        grant = BuilderGrant(
            application_id=int(data["a"]),
            user_id=int(data["u"]),
            mode=str(data["m"]),
            guide_id=int(data["g"]) if data["g"] is not None else None,
            admin_origin=str(data["o"]),
            nonce=str(data["n"]),
            expires_at=int(data["e"]),
        )
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
    if grant.mode not in MODES or grant.expires_at <= (time.time() if now is None else now):
        return None
    return grant
