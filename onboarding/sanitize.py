"""Allowlist sanitising of PM-authored rich text with nh3 (Ammonia)."""
import nh3

ALLOWED_TAGS = frozenset({"b", "i", "strong", "em", "a", "p", "br", "ul", "ol", "li", "code"})
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})


def sanitize_html(value: str | None) -> str:
    """Return ``value`` keeping only the safe subset; everything else is dropped.

    Script and style elements lose their content too (nh3's default), links get
    ``rel="noopener noreferrer nofollow"``.
    """
    if not value:
        return ""
    return nh3.clean(
        value,
        tags=set(ALLOWED_TAGS),
        attributes={tag: set(attrs) for tag, attrs in ALLOWED_ATTRIBUTES.items()},
        url_schemes=set(ALLOWED_URL_SCHEMES),
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
