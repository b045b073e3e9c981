"""Small builders for test data; explicit values, no opaque fixtures."""
from django.apps import apps as django_apps
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group

from onboarding.models import (
    Application,
    BarButton,
    ChecklistItem,
    Guide,
    GuideUrlRule,
    Segment,
    TourStep,
)
from onboarding.services import application_create
from wayline.roles import sync_role_groups


def make_application(name: str = "Acme", **fields) -> Application:
    fields.setdefault("allowed_origins", ["https://app.acme.test"])
    return application_create(name=name, **fields)


def make_staff_user(username: str, *, group: str | None = None, superuser: bool = False):
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, is_staff=True)
    user.is_superuser = superuser
    user.save()
    if group:
        if not Group.objects.filter(name=group).exists():
            # Transactional tests flush the groups the migrations made; make them again.
            sync_role_groups(django_apps)
        user.groups.add(Group.objects.get(name=group))
    return user


def make_segment(application: Application, *, name: str = "Founders", rule: dict | None = None, **fields) -> Segment:
    return Segment.objects.create(
        application=application,
        name=name,
        slug=fields.pop("slug", name.lower().replace(" ", "-")),
        rule=rule or {"trait": "persona", "op": "eq", "value": "founder"},
        **fields,
    )


def make_guide(application: Application, kind: str = Guide.Kind.TOUR, *, name: str | None = None, **fields) -> Guide:
    """A guide of ``kind`` with the minimum content it needs to be publishable."""
    guide = Guide.objects.create(application=application, kind=kind, name=name or f"{kind} guide", **fields)
    if kind == Guide.Kind.TOUR:
        TourStep.objects.create(guide=guide, order=1, selector="#connect", title="Connect", body="<p>Click</p>")
    elif kind == Guide.Kind.CHECKLIST:
        ChecklistItem.objects.create(guide=guide, order=1, title="Connect", completion_event="integration_connected")
    elif kind == Guide.Kind.BAR:
        if not guide.bar_message:
            guide.bar_message = "<p>Connect an integration</p>"
            guide.save()
        BarButton.objects.create(guide=guide, order=1, label="Go", action=BarButton.Action.URL, url="https://x.test")
    elif kind == Guide.Kind.SURVEY and not guide.survey_question:
        guide.survey_question = "How likely are you to recommend us?"
        guide.save()
    return guide


def add_url_rule(guide: Guide, pattern: str, match_type: str = "prefix", exclude: bool = False) -> GuideUrlRule:
    return GuideUrlRule.objects.create(guide=guide, pattern=pattern, match_type=match_type, exclude=exclude)


# --- the content decision (users, their state and counters, live guides) ---------------------

def make_account_with_traits(application: Application, external_id: str = "acme-inc", **traits):
    from analytics.models import Account

    return Account.objects.create(application=application, external_id=external_id, traits=traits)


def make_known_user(
    application: Application,
    external_id: str | None = "user-1",
    *,
    traits: dict | None = None,
    account=None,
    stage: str | None = None,
    anonymous_ids: tuple[str, ...] = (),
):
    """An end user, optionally at the stage with slug ``stage`` and reachable by anonymous ids."""
    from analytics.models import EndUser, UserAlias

    user = EndUser.objects.create(
        application=application,
        external_id=external_id,
        traits=traits or {},
        account=account,
        stage=application.stages.get(slug=stage) if stage else None,
    )
    for anonymous_id in anonymous_ids:
        UserAlias.objects.create(application=application, anonymous_id=anonymous_id, user=user)
    return user


def make_guide_state(user, guide: Guide, **fields):
    from analytics.models import GuideState

    return GuideState.objects.create(user=user, guide=guide, **fields)


def make_daily_count(user, name: str, day, count: int = 1):
    from analytics.models import UserEventDaily

    return UserEventDaily.objects.create(user=user, name=name, day=day, count=count)


def make_live_guide(application: Application, kind: str = Guide.Kind.TOUR, *, stages=(), url_rules=(), **fields):
    """A published guide; ``stages`` are slugs, ``url_rules`` (pattern, match type, exclude) triples."""
    from onboarding.services import guide_publish

    guide = make_guide(application, kind, **fields)
    if stages:
        guide.stages.set(application.stages.filter(slug__in=stages))
    for pattern, match_type, exclude in url_rules:
        add_url_rule(guide, pattern, match_type=match_type, exclude=exclude)
    guide_publish(guide=guide)
    guide.refresh_from_db()
    return guide


def make_guide_payload(guide_id: int, kind: str = "tour", **settings) -> dict:
    """A hand-written frozen payload for the pure decision: ``settings`` override the defaults
    (priority, trigger, frequency, max_times) and the targeting (stages, segment_id, device,
    url_rules, starts_at, ends_at, items for a checklist)."""
    targeting = {
        "stages": list(settings.pop("stages", [])),
        "segment_id": settings.pop("segment_id", None),
        "device": settings.pop("device", "any"),
        "url_rules": [
            {"match_type": match_type, "pattern": pattern, "exclude": exclude}
            for pattern, match_type, exclude in settings.pop("url_rules", [])
        ],
        "starts_at": settings.pop("starts_at", None),
        "ends_at": settings.pop("ends_at", None),
    }
    items = settings.pop("items", [])
    content = {"title": "Get started", "items": [{"id": i, "title": f"Item {i}"} for i in items]} if items else {}
    payload = {
        "id": guide_id,
        "version": 1,
        "type": kind,
        "name": f"Guide {guide_id}",
        "priority": settings.pop("priority", 0),
        "modal": kind in ("tour", "survey"),
        "trigger": {"type": settings.pop("trigger", "page_load"), "selector": None, "event": None},
        "frequency": {"type": settings.pop("frequency", "until_done"), "max_times": settings.pop("max_times", None)},
        "goal_event": None,
        "content": content or {"steps": [], "on_missing_target": "skip"},
        "targeting": targeting,
    }
    assert not settings, f"unknown payload settings: {sorted(settings)}"
    return payload


def make_preview_token_issued_at(*, guide_id: int, application_id: int, user_id: int, seconds_ago: int) -> str:
    """A genuine preview token signed ``seconds_ago`` seconds ago (to test expiry without waiting)."""
    import time

    from django.core import signing

    from onboarding.preview import PREVIEW_SALT

    class _IssuedEarlier(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - seconds_ago)

    data = {"g": guide_id, "a": application_id, "u": user_id}
    return _IssuedEarlier(salt=PREVIEW_SALT).sign_object(data, compress=True)
