"""The demo workspace a newcomer sees: an application with personas, guides, experiments and logins,
and 20,000 simulated users with their events (``analytics.simulation``).

Idempotent: running it again finds what it made before instead of making it twice.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from pathlib import Path

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import transaction

from analytics.simulation.generator import SimulationConfig
from analytics.simulation.loader import sqlite_load_pragmas
from analytics.simulation.truth import Truth, truth_read, truth_write
from experiments.models import Experiment
from onboarding.models import Application, BarButton, ChecklistItem, Guide, GuideUrlRule, Segment, TourStep
from onboarding.services import application_create, guide_publish
from wayline.demo_views import DEMO_APPLICATION_NAME
from wayline.roles import EDITORS, VIEWERS
from wayline.simulation_setup import (
    WELCOME_A, WELCOME_B, DemoGuides, experiments_recompute, simulated_users_count, simulation_run,
)

DEMO_PASSWORD = "wayline-demo"
DEMO_ORIGINS = ["http://127.0.0.1:8000", "http://localhost:8000"]
DEMO_USERS = 20_000
DEMO_SEED = 2024
DEMO_PREFIX = "demo"

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
def demo_application_setup(*, extra_origins: list[str] | None = None, name: str = DEMO_APPLICATION_NAME) -> Application:
    application = Application.objects.filter(name=name).first()
    if application is None:
        application = application_create(
            name=name, allowed_origins=DEMO_ORIGINS + (extra_origins or []), primary_color="#0f766e"
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

    welcomes = [_welcome_tour(application, stages["signup"], name) for name in (WELCOME_A, WELCOME_B)]

    for guide in (tour, checklist, bar, survey, *welcomes):
        if guide.live_version_id is None:
            guide_publish(guide=guide, by=None)
    return application


def _welcome_tour(application, signup, name: str) -> Guide:
    """One of two identical one-step tours: the A/A experiment shows one per arm."""
    tour, created = _guide(
        application, Guide.Kind.TOUR, name, priority=30,
        description="Identical to its twin on purpose: the A/A experiment compares the two.",
    )
    if created:
        tour.stages.set([signup])
        TourStep.objects.create(guide=tour, order=1, selector="#open-conversations", title="Your conversations",
                                body="<p>Every chat from your website lands here.</p>")
        GuideUrlRule.objects.create(guide=tour, match_type=GuideUrlRule.MatchType.PREFIX, pattern="/demo/")
    return tour


def demo_guides(application: Application) -> DemoGuides:
    """The demo guides the simulated users see, found by kind and name."""
    def named(kind: str, name: str) -> Guide:
        return Guide.objects.select_related("live_version").get(application=application, kind=kind, name=name)

    return DemoGuides(
        bar=named(Guide.Kind.BAR, "Connect your first integration"),
        tour=named(Guide.Kind.TOUR, "Customise your chat widget"),
        checklist=named(Guide.Kind.CHECKLIST, "Get started with Chatterbox"),
        survey=named(Guide.Kind.SURVEY, "How likely are you to recommend Chatterbox?"),
        welcome_a=named(Guide.Kind.TOUR, WELCOME_A),
        welcome_b=named(Guide.Kind.TOUR, WELCOME_B),
    )


@dataclass(frozen=True)
class DemoData:
    application: Application
    experiments: dict  # planted key → Experiment
    truth: Truth
    loaded: bool  # False when the simulated data was already there
    users: int
    events: int
    seconds: dict


def demo_data_setup(*, users: int = DEMO_USERS, seed: int = DEMO_SEED, truth_path: Path | None = None,
                    end: datetime | None = None, application_name: str = DEMO_APPLICATION_NAME,
                    prefix: str = DEMO_PREFIX, method: str = "ingest", progress=None, **config) -> DemoData:
    """Load the simulated users with their events through the ingest writer, once, and compute results.

    The marker of a finished load is the truth file together with the simulated users in the
    database: when both are there nothing is generated again; after an interrupted load the same
    users and event ids are written again, which the writer ignores.
    """
    application = demo_application_setup(name=application_name)
    guides = demo_guides(application)
    truth_path = truth_path or Path(settings.DATA_DIR) / "truth.json"
    previous = truth_read(truth_path) if truth_path.exists() else None
    same = previous is not None and (previous[0].seed, previous[0].users) == (seed, users)
    if same and end is None:
        end = previous[0].end  # an interrupted load resumes with the same timestamps and event ids
    present = simulated_users_count(application=application, prefix=prefix)
    if same and present >= users and end == previous[0].end:
        truth, extra = previous
        experiments = {
            p.key: e for p in truth.experiments
            if (e := Experiment.objects.filter(application=application, name=p.name).first()) is not None
        }
        return DemoData(application, experiments, truth, False, present, extra.get("events", 0), {})
    end = end or datetime.combine(date.today(), time.min, tzinfo=timezone.utc)
    config = SimulationConfig(users=users, seed=seed, end=end, id_prefix=prefix, **config)
    with sqlite_load_pragmas():
        stats, truth, experiments = simulation_run(application=application, config=config, guides=guides,
                                                   method=method, progress=progress)
        experiments_recompute(experiments)
    truth_write(truth, truth_path, events=stats.events, loaded_users=stats.users,
                load_seconds={step: round(seconds, 2) for step, seconds in stats.seconds.items()})
    return DemoData(application, experiments, truth, True, stats.users, stats.events, stats.seconds)
