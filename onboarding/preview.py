"""Signed, short-lived preview tokens: a draft guide shown to one staff user on a host page."""
from dataclasses import dataclass

from django.core import signing

PREVIEW_SALT = "wayline.guide-preview"
PREVIEW_MAX_AGE_SECONDS = 60 * 60


@dataclass(frozen=True)
class PreviewGrant:
    guide_id: int
    application_id: int
    user_id: int


def preview_token_make(*, guide_id: int, application_id: int, user_id: int) -> str:
    return signing.dumps({"g": guide_id, "a": application_id, "u": user_id}, salt=PREVIEW_SALT, compress=True)


def preview_token_read(token: str, *, max_age: int = PREVIEW_MAX_AGE_SECONDS) -> PreviewGrant | None:
    """The grant a token carries, or None if it is forged, malformed or expired."""
    try:
        data = signing.loads(token, salt=PREVIEW_SALT, max_age=max_age)
        return PreviewGrant(guide_id=int(data["g"]), application_id=int(data["a"]), user_id=int(data["u"]))
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
