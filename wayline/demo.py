"""The demo workspace a newcomer sees: an application with personas, guides and logins.

Idempotent: running it again finds what it made before instead of making it twice.
"""
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from onboarding.models import Application, BarButton, ChecklistItem, Guide, GuideUrlRule, Segment, TourStep
from onboarding.services import application_create, guide_publish
from wayline.demo_views import DEMO_APPLICATION_NAME
from wayline.roles import EDITORS, VIEWERS

DEMO_PASSWORD = "wayline-demo"
DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]

PERSONAS = (
    ("technical-founder", "Technical founder", "technical_founder", "Founder of a small tech company (1–10 people)."),
    ("budget-startup", "Budget-conscious startup", "budget_startup", "Service business of 1–5 people watching costs."),
    (
        "non-technical-manager",
        "Non-technical manager",
        "non_technical_manager",
        "Support manager at a manufacturer (11–50 people).",
    ),
)


def demo_logins() -> dict[str, str]:
    """Create (or reset) the demo editor and viewer logins; returns username → password."""
    User = get_user_model()
    logins = {}
    for username, group_name, superuser in (("admin", EDITORS, True), ("viewer", VIEWERS, False)):
        user, _ = User.objects.get_or_create(username=username, defaults={"email": f"{username}@example.com"})
        user.is_staff = True
        user.is_superuser = superuser
        user.set_password(DEMO_PASSWORD)
        user.save()
        user.groups.add(Group.objects.get(name=group_name))
        logins[username] = DEMO_PASSWORD
    return logins


def _guide(application, kind, name, **fields) -> tuple[Guide, bool]:
    return Guide.objects.get_or_create(application=application, kind=kind, name=name, defaults=fields)


@transaction.atomic
def demo_application_setup(*, extra_origins: list[str] | None = None) -> Application:
    application = Application.objects.filter(name=DEMO_APPLICATION_NAME).first()
    if application is None:
        application = application_create(
            name=DEMO_APPLICATION_NAME, allowed_origins=DEMO_ORIGINS + (extra_origins or []), primary_color="#0f766e"
        )
    stages = {stage.slug: stage for stage in application.stages.all()}
    for slug, name, persona, description in PERSONAS:
        Segment.objects.get_or_create(
            application=application,
            slug=slug,
            defaults={
                "name": name,
                "description": description,
                "is_persona": True,
                "rule": {"trait": "persona", "op": "eq", "value": persona},
            },
        )

    tour, created = _guide(
        application, Guide.Kind.TOUR, "Customise your chat widget",
        priority=20, goal_event="widget_customized", description="Walks new users to the widget settings.",
    )
    if created:
        tour.stages.set([stages["signup"], stages["onboarding"]])
        TourStep.objects.bulk_create([
            TourStep(guide=tour, order=1, selector="#customize-widget", title="Make it yours",
                     body="<p>Match the chat widget to your <strong>brand colours</strong> in one click.</p>"),
            TourStep(guide=tour, order=2, selector="#assign-conversation", title="Answer as a team",
                     body="<p>Assign conversations so nobody answers twice.</p>"),
            TourStep(guide=tour, order=3, selector="#save-settings", title="Save and go live",
                     body="<p>Save your workspace settings and the widget is ready.</p>"),
        ])
        GuideUrlRule.objects.create(guide=tour, match_type=GuideUrlRule.MatchType.PREFIX, pattern="/demo/")

    checklist, created = _guide(
        application, Guide.Kind.CHECKLIST, "Get started with Chatterbox",
        checklist_title="Get started", priority=10, goal_event="integration_connected",
    )
    if created:
        checklist.stages.set([stages["signup"], stages["onboarding"], stages["activation"]])
        ChecklistItem.objects.bulk_create([
            ChecklistItem(guide=checklist, order=1, title="Connect an integration", completion="event",
                          completion_event="integration_connected", description="<p>Bring in Slack or email.</p>"),
            ChecklistItem(guide=checklist, order=2, title="Customise the widget", completion="tour",
                          completion_tour=tour, cta_label="Show me", cta_action="tour", cta_tour=tour),
            ChecklistItem(guide=checklist, order=3, title="Invite a teammate", completion="event",
                          completion_event="teammate_invited"),
        ])

    bar, created = _guide(
        application, Guide.Kind.BAR, "Connect your first integration",
        bar_message="<p><strong>New:</strong> connect Slack or email to answer customers where you already work.</p>",
        priority=5, goal_event="integration_connected",
    )
    if created:
        bar.stages.set([stages["signup"], stages["onboarding"]])
        BarButton.objects.create(guide=bar, order=1, label="Show me", action=BarButton.Action.TOUR, tour=tour)

    survey, created = _guide(
        application, Guide.Kind.SURVEY, "How likely are you to recommend Chatterbox?",
        survey_kind=Guide.SurveyKind.NPS, priority=1, trigger=Guide.Trigger.EVENT, trigger_event="report_viewed",
        survey_question="How likely are you to recommend Chatterbox to a friend or colleague?",
        survey_follow_up_question="What is the main reason for your score?",
        frequency=Guide.Frequency.ONCE,
    )
    if created:
        survey.stages.set([stages["adoption"], stages["retention"], stages["expansion"]])

    for guide in (tour, checklist, bar, survey):
        if guide.live_version_id is None:
            guide_publish(guide=guide, by=None)
    return application
