"""Small builders for test data; explicit values, no opaque fixtures."""
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


def make_application(name: str = "Acme", **fields) -> Application:
    fields.setdefault("allowed_origins", ["https://app.acme.test"])
    return application_create(name=name, **fields)


def make_staff_user(username: str, *, group: str | None = None, superuser: bool = False):
    user = get_user_model().objects.create_user(username=username, password="pw-" + username, is_staff=True)
    user.is_superuser = superuser
    user.save()
    if group:
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
