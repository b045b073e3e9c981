"""Builder tokens: signed, minutes-long, bound to an application, a staff user, a mode and a nonce."""
import pytest
from django.core import signing

from onboarding.builder_tokens import BUILDER_SALT, BUILDER_TOKEN_SECONDS, builder_token_make, builder_token_read

NOW = 1_700_000_000.0


def make_token(**overrides) -> str:
    fields = {"application_id": 3, "user_id": 7, "mode": "pick", "admin_origin": "https://wayline.test",
              "nonce": "n-1", "now": NOW, **overrides}
    return builder_token_make(**fields)


def test_builder_token__fresh__grant_carries_every_binding():
    grant = builder_token_read(make_token(mode="preview", guide_id=11), now=NOW + 1)
    assert (grant.application_id, grant.user_id, grant.mode, grant.guide_id) == (3, 7, "preview", 11)
    assert (grant.admin_origin, grant.nonce, grant.expires_at) == ("https://wayline.test", "n-1",
                                                                    int(NOW) + BUILDER_TOKEN_SECONDS)


@pytest.mark.parametrize("age", [BUILDER_TOKEN_SECONDS, BUILDER_TOKEN_SECONDS + 3600], ids=["at-expiry", "hour-later"])
def test_builder_token__expired__none(age):
    assert builder_token_read(make_token(), now=NOW + age) is None


def test_builder_token__lifetime__minutes_not_hours():
    assert 60 <= BUILDER_TOKEN_SECONDS <= 30 * 60


@pytest.mark.parametrize(
    "token",
    [
        make_token()[:-2] + "xx",
        signing.dumps({"a": 3, "u": 7, "m": "pick", "g": None, "o": "x", "n": "", "e": NOW + 600}, salt="other.salt"),
        signing.dumps({"a": 3, "u": 7, "m": "root", "g": None, "o": "x", "n": "", "e": NOW + 600}, salt=BUILDER_SALT),
        signing.dumps({"a": 3, "u": 7}, salt=BUILDER_SALT),
        "",
        "not-a-token",
    ],
    ids=["tampered-signature", "other-salt", "unknown-mode", "missing-fields", "empty", "garbage"],
)
def test_builder_token__forged_or_malformed__none(token):
    assert builder_token_read(token, now=NOW) is None


def test_builder_token__unknown_mode__refused_when_made():
    with pytest.raises(ValueError, match="mode"):
        make_token(mode="admin")
