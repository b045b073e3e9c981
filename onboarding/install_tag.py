"""The copy-paste install tag for an application: the snippet's loader with its bundle URL."""
import json
from functools import lru_cache
from pathlib import Path

from django.conf import settings
from django.templatetags.static import static

from onboarding.models import Application

LOADER_PATH = Path(settings.SNIPPET_DIST) / "loader.js"
BUNDLE_PLACEHOLDER = "__WAYLINE_BUNDLE_URL__"


@lru_cache(maxsize=1)
def _loader_source() -> str:
    if not LOADER_PATH.exists():
        return ""
    return LOADER_PATH.read_text(encoding="utf-8").strip()


def bundle_url(*, api_host: str) -> str:
    return api_host.rstrip("/") + static("wayline/wayline.js")


def install_tag(*, application: Application, api_host: str) -> str:
    """The HTML a customer pastes into every page of their product."""
    loader = _loader_source()
    if not loader:
        return "<!-- The snippet is not built yet: run `npm run build` in frontend_snippet/ -->"
    # Inside a JS string inside a <script>: escape as JSON and never let "</" close the tag.
    url = json.dumps(bundle_url(api_host=api_host))[1:-1].replace("</", "<\\/")
    loader = loader.replace(BUNDLE_PLACEHOLDER, url)
    options = json.dumps({"apiHost": api_host.rstrip("/")}).replace("</", "<\\/")
    key = json.dumps(application.publishable_key)
    return f"<script>{loader}</script>\n<script>wayline.init({key}, {options});</script>"
