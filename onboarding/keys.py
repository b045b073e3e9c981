"""Generation of application keys and secrets."""
import secrets

PUBLISHABLE_PREFIX = "wl_pk_"
SECRET_PREFIX = "wl_sk_"


def new_publishable_key() -> str:
    return PUBLISHABLE_PREFIX + secrets.token_urlsafe(18)


def new_secret_key() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_identity_secret() -> str:
    return secrets.token_hex(32)
