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


# --- journey analytics reports (users with a history) ----------------------------------------

def make_report_user(application: Application, external_id: str, *, first_seen_at=None, traits: dict | None = None,
                     account=None, stage: str | None = None, stage_entered_at=None):
    """An end user first seen at ``first_seen_at``, optionally at the stage with slug ``stage`` now."""
    from analytics.models import EndUser

    return EndUser.objects.create(
        application=application, external_id=external_id, traits=traits or {}, account=account,
        first_seen_at=first_seen_at, last_seen_at=first_seen_at,
        stage=application.stages.get(slug=stage) if stage else None, stage_entered_at=stage_entered_at,
    )


def make_event(user, name: str, at, **properties):
    from analytics.models import Event

    return Event.objects.create(application_id=user.application_id, user=user, name=name, timestamp=at,
                                received_at=at, properties=properties)


def make_transition(user, stage: str, at, *, from_stage: str | None = None):
    from analytics.models import StageTransition

    stages = {s.slug: s for s in user.application.stages.all()}
    return StageTransition.objects.create(application_id=user.application_id, user=user, to_stage=stages[stage],
                                          from_stage=stages.get(from_stage) if from_stage else None, at=at)


def make_survey_response(user, guide: Guide, score: int, at, *, comment: str = "", stage_slug: str = ""):
    import uuid

    from analytics.models import SurveyResponse

    return SurveyResponse.objects.create(
        application_id=user.application_id, guide=guide, user=user, event_id=uuid.uuid4(), kind=guide.survey_kind,
        score=score, comment=comment, stage_slug=stage_slug, responded_at=at,
    )


# --- public API: identify and event ingest ---------------------------------------------------

def make_event_payload(name: str = "report_viewed", *, user_id: str | None = "user-1", anonymous_id: str | None = None,
                       at=None, **fields) -> dict:
    """One event as the snippet sends it, with a fresh client UUID."""
    import uuid

    from django.utils import timezone

    event = {"id": str(uuid.uuid4()), "name": name, "timestamp": (at or timezone.now()).isoformat(),
             "properties": {}, "url": "https://app.acme.test/", "session_id": "s-1"}
    if user_id is not None:
        event["user_id"] = user_id
    if anonymous_id is not None:
        event["anonymous_id"] = anonymous_id
    event.update(fields)
    return event


def make_events_batch(count: int, *, name: str = "report_viewed", user_id: str = "user-1", start=None) -> list[dict]:
    """``count`` events one second apart, starting ``count`` seconds before ``start`` (default now)."""
    from datetime import timedelta

    from django.utils import timezone

    start = start or timezone.now()
    return [make_event_payload(name, user_id=user_id, at=start - timedelta(seconds=count - i)) for i in range(count)]


def publishable_key_headers(application: Application, **headers) -> dict:
    return {"HTTP_X_WAYLINE_KEY": application.publishable_key, **headers}


def secret_key_headers(application: Application, **headers) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {application.secret_key}", **headers}


# --- experiments ------------------------------------------------------------------------------

def make_experiment(application: Application, *, name: str = "Shorter tour", variants=None, metrics=None,
                    start: bool = False, started_at=None, **fields):
    """An experiment. ``variants``: (key, guide or None, weight, is_control) tuples, default a control
    without a guide and a treatment showing a new live tour, 50/50. ``metrics``: dicts of Metric
    fields, default one primary activation metric on ``integration_connected``. ``start`` starts it
    (at ``started_at``, default now)."""
    from experiments.models import Experiment, Metric, Variant
    from experiments.services import experiment_start

    experiment = Experiment.objects.create(application=application, name=name, **fields)
    if variants is None:
        variants = [("control", None, 50, True), ("treatment", make_live_guide(application, name="New tour"), 50, False)]
    for key, guide, weight, is_control in variants:
        Variant.objects.create(experiment=experiment, key=key, name=key.replace("-", " ").title(), weight=weight,
                               is_control=is_control, guide=guide)
    for spec in metrics if metrics is not None else [{"name": "Activation", "event_name": "integration_connected"}]:
        Metric.objects.create(experiment=experiment, **{"kind": Metric.Kind.ACTIVATION, **spec})
    if start:
        experiment_start(experiment=experiment, now=started_at)
        experiment.refresh_from_db()
    return experiment


def make_exposure(experiment, variant, user, at, *, unit_id: str | None = None):
    from experiments.models import Exposure

    return Exposure.objects.create(experiment=experiment, variant=variant, user=user, exposed_at=at,
                                   unit_id=unit_id or f"user:{user.pk}")


# --- the snippet in a browser: live guides with the content a test draws ---------------------

def _publish_with_url_rules(guide: Guide, url_rules) -> Guide:
    from onboarding.services import guide_publish

    for pattern, match_type in url_rules:
        add_url_rule(guide, pattern, match_type=match_type)
    guide_publish(guide=guide)
    guide.refresh_from_db()
    return guide


def make_live_tour(application: Application, steps: list[dict], *, url_rules=(), **fields) -> Guide:
    """A published tour with ``steps`` (dicts of ``TourStep`` fields, in order); ``url_rules`` are
    (pattern, match type) pairs, as for the other ``make_live_*`` builders."""
    guide = Guide.objects.create(application=application, kind=Guide.Kind.TOUR, name=fields.pop("name", "Tour"),
                                 **fields)
    for order, step in enumerate(steps, start=1):
        TourStep.objects.create(guide=guide, order=order, **{"title": f"Step {order}", **step})
    return _publish_with_url_rules(guide, url_rules)


def make_live_checklist(application: Application, items: list[dict], *, url_rules=(), **fields) -> Guide:
    """A published checklist with ``items`` (dicts of ``ChecklistItem`` fields, in order)."""
    guide = Guide.objects.create(application=application, kind=Guide.Kind.CHECKLIST,
                                 name=fields.pop("name", "Checklist"), **fields)
    for order, item in enumerate(items, start=1):
        ChecklistItem.objects.create(guide=guide, order=order, **item)
    return _publish_with_url_rules(guide, url_rules)


def make_live_bar(application: Application, message: str, buttons=(), *, url_rules=(),
                  **fields) -> Guide:
    """A published notification bar; ``buttons`` are dicts of ``BarButton`` fields."""
    guide = Guide.objects.create(application=application, kind=Guide.Kind.BAR, name=fields.pop("name", "Bar"),
                                 bar_message=message, **fields)
    for order, button in enumerate(buttons, start=1):
        BarButton.objects.create(guide=guide, order=order, **button)
    return _publish_with_url_rules(guide, url_rules)


def make_live_survey(application: Application, question: str, *, url_rules=(), **fields) -> Guide:
    """A published survey (NPS unless ``survey_kind`` says otherwise)."""
    guide = Guide.objects.create(application=application, kind=Guide.Kind.SURVEY, name=fields.pop("name", "Survey"),
                                 survey_question=question, **fields)
    return _publish_with_url_rules(guide, url_rules)


def make_exposed_population(experiment, arms: dict, *, start, event: str = "integration_connected", seed: int = 1):
    """Planted data for result pages. ``arms``: variant key -> (users, conversions). Users of each arm
    are exposed one per hour from ``start``; the first ``conversions`` of them do ``event`` a day
    after exposure. Returns {key: (users, conversions)}."""
    import uuid
    from datetime import timedelta

    from analytics.models import EndUser, Event
    from experiments.models import Exposure

    users, planted = [], {}
    for key, (count, conversions) in arms.items():
        variant = experiment.variants.get(key=key)
        planted[key] = (count, conversions)
        for index in range(count):
            user = EndUser(application=experiment.application, external_id=f"{experiment.id}-{seed}-{key}-{index}")
            users.append((user, variant, start + timedelta(hours=index), index < conversions))
    EndUser.objects.bulk_create([user for user, *_ in users])
    Exposure.objects.bulk_create([
        Exposure(experiment=experiment, variant=variant, user=user, unit_id=f"user:{user.pk}", exposed_at=at)
        for user, variant, at, _converts in users
    ])
    Event.objects.bulk_create([
        Event(id=uuid.uuid4(), application_id=user.application_id, user=user, name=event,
              timestamp=at + timedelta(days=1), received_at=at + timedelta(days=1), properties={})
        for user, _variant, at, converts in users if converts
    ])
    return planted


def make_journey_history(application: Application, *, users: int = 40, now=None) -> int:
    """``users`` end users of ``application`` (with the default stages) first seen over the last 60 days,
    moving through the stages at falling rates, seeing its live guides, using features, answering its NPS
    survey and paying; returns how many events were written."""
    from datetime import timedelta

    from django.utils import timezone

    from analytics.models import Event

    now = now or timezone.now()
    guides = list(Guide.objects.filter(application=application, live_version__isnull=False))
    survey = next((g for g in guides if g.kind == Guide.Kind.SURVEY), None)
    personas = list(application.segments.filter(is_persona=True).values_list("rule", flat=True))
    events = []
    for i in range(users):
        first = now - timedelta(days=60 - (i * 59) // users, hours=i % 7)
        persona = personas[i % len(personas)]["value"] if personas else "founder"
        user = make_report_user(application, f"history-{i}", first_seen_at=first, traits={"persona": persona})
        reached = ["signup", "onboarding", "activation", "adoption"][: 1 + (i % 5 != 0) + (i % 3 != 0) + (i % 4 == 0)]
        for step, (before, stage) in enumerate(zip([None, *reached], reached)):
            make_transition(user, stage, first + timedelta(days=2 * step, hours=1), from_stage=before)
        for guide in guides:
            if guide.kind == Guide.Kind.SURVEY:
                continue
            make_guide_state(user, guide, seen_count=1, first_seen_at=first, last_seen_at=first,
                             completed_at=first + timedelta(minutes=3 + i) if i % 2 else None,
                             dismissed_at=first + timedelta(minutes=1) if i % 5 == 1 else None)
            if guide.kind == Guide.Kind.TOUR:
                for step in range(1 + i % 3):
                    events.append((user, "$guide_step_viewed", first + timedelta(seconds=step),
                                   {"guide_id": guide.id, "step_index": step}))
        features = ["widget_customized", "integration_connected", "teammate_invited", "report_viewed"]
        for day in range(0, 35, 3 + i % 4):
            events.append((user, features[(i + day) % len(features)], first + timedelta(days=day, hours=2), {}))
            events.append((user, "$pageview", first + timedelta(days=day, hours=1), {}))
        if survey is not None and "activation" in reached:
            make_survey_response(user, survey, (i * 7) % 11, first + timedelta(days=5),
                                 comment="Setup was confusing" if (i * 7) % 11 <= 6 else "", stage_slug=reached[-1])
            make_guide_state(user, survey, seen_count=1, first_seen_at=first + timedelta(days=5),
                             last_seen_at=first + timedelta(days=5), completed_at=first + timedelta(days=5))
        if "activation" in reached:
            for month in range(2 if i % 2 else 1):
                events.append((user, "subscription_paid", first + timedelta(days=4 + 30 * month), {"amount": 29}))
    Event.objects.bulk_create([
        Event(application_id=application.id, user=user, name=name, timestamp=at, received_at=at, properties=properties)
        for user, name, at, properties in events if at <= now
    ])
    return len(events)


# --- data safety: a user with a row in every table that refers to end users -----------------

def make_user_with_history(application: Application, external_id: str, *, at, experiment=None):
    """An identified user with traits, an account, an alias, and rows of their own in the events,
    daily counters, activity rollup, stage history, guide state, checklist completions, survey
    answers and segment memberships — plus an exposure when ``experiment`` (started) is given."""
    from analytics.models import ChecklistItemCompletion, SegmentMembership, UserDayActivity

    account = make_account_with_traits(application, f"{external_id}-co", plan="pro")
    user = make_known_user(application, external_id, traits={"email": f"{external_id}@example.test"},
                           account=account, stage="activation", anonymous_ids=(f"anon-{external_id}",))
    survey = make_live_survey(application, "How likely are you to recommend us?", name=f"NPS {external_id}")
    checklist = make_live_checklist(application, [{"title": "Connect", "completion_event": "integration_connected"}],
                                    name=f"Setup {external_id}")
    make_event(user, "integration_connected", at, source="slack")
    make_daily_count(user, "integration_connected", at.date())
    UserDayActivity.objects.create(application=application, user=user, day=at.date(), events=1)
    make_transition(user, "activation", at)
    make_guide_state(user, survey, seen_count=1, first_seen_at=at, last_seen_at=at, completed_at=at)
    ChecklistItemCompletion.objects.create(user=user, item=checklist.items.get(), completed_at=at)
    make_survey_response(user, survey, 9, at, comment=f"{external_id} loves it")
    segment = application.segments.first() or make_segment(application)
    SegmentMembership.objects.create(segment=segment, user=user)
    if experiment is not None:
        variant = experiment.variants.get(is_control=True)
        make_exposure(experiment, variant, user, at)
    return user
