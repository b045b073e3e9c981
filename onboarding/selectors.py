"""Reads for onboarding: live configuration, draft-versus-live comparison."""
import difflib
import json

from onboarding.models import Application, Guide, JourneyStage
from onboarding.payloads import comparable, guide_payload


def guide_has_unpublished_changes(guide: Guide) -> bool:
    if guide.live_version is None:
        return True
    draft = guide_payload(guide, version=guide.live_version.number)
    return comparable(draft) != comparable(guide.live_version.payload)


def guide_draft_diff(guide: Guide) -> list[str]:
    """Unified diff, line by line, from the live version's JSON to the draft's."""
    number = guide.live_version.number if guide.live_version else 0
    live = guide.live_version.payload if guide.live_version else {}
    draft = guide_payload(guide, version=number)
    return list(
        difflib.unified_diff(
            json.dumps(comparable(live), indent=2, sort_keys=True, ensure_ascii=False).splitlines(),
            json.dumps(comparable(draft), indent=2, sort_keys=True, ensure_ascii=False).splitlines(),
            fromfile=f"live v{number}" if number else "not published",
            tofile="draft",
            lineterm="",
        )
    )


def live_guide_payloads(*, application: Application) -> list[dict]:
    """Every published, unarchived guide's frozen payload, highest priority first."""
    guides = (
        Guide.objects.filter(application=application, live_version__isnull=False, archived_at__isnull=True)
        .select_related("live_version")
        .order_by("-priority", "id")
    )
    return [guide.live_version.payload for guide in guides]


def stages_ordered(*, application_id: int) -> list[JourneyStage]:
    return list(JourneyStage.objects.filter(application_id=application_id).order_by("order"))
