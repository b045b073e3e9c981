"""Which code computed a result snapshot: the package version plus the git commit when known."""
import os
import subprocess
from functools import lru_cache
from importlib import metadata
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent


@lru_cache(maxsize=1)
def code_version() -> str:
    """``0.1.0+abc1234``: ``WAYLINE_GIT_SHA`` (set in images built without .git) or ``git rev-parse``."""
    try:
        version = metadata.version("wayline")
    except metadata.PackageNotFoundError:
        version = _pyproject_version()
    sha = os.environ.get("WAYLINE_GIT_SHA", "").strip()[:12] or _git_sha()
    return f"{version}+{sha}" if sha else version


def _pyproject_version() -> str:
    import tomllib

    try:
        with open(REPOSITORY / "pyproject.toml", "rb") as file:
            return tomllib.load(file)["project"]["version"]
    except (OSError, KeyError, tomllib.TOMLDecodeError):
        return "unknown"


def _git_sha() -> str:
    try:
        result = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=REPOSITORY, capture_output=True, text=True, timeout=5, check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout.strip() if result.returncode == 0 else ""
