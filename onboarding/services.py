"""Writes for onboarding: applications, keys, stages, segments, guide publishing."""
import logging

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from onboarding import keys
from onboarding.journey import DEFAULT_STAGES
from onboarding.models import Application, Guide, GuideVersion, JourneyStage, Segment
from onboarding.payloads import guide_payload
from onboarding.rules import validate_rule
from onboarding.url_match import validate_url_rule

logger = logging.getLogger("onboarding")

ROTATABLE = {
    "publishable_key": keys.new_publishable_key,
    "secret_key": keys.new_secret_key,
    "identity_secret": keys.new_identity_secret,
}


def application_config_changed(*, application_id: int) -> None:
    """Bump the published-configuration version so every cached decision is invalidated."""
    Application.objects.filter(pk=application_id).update(config_version=F("config_version") + 1)


def stages_seed_default(*, application: Application) -> list[JourneyStage]:
    """Give ``application`` the classic journey unless it already has stages."""
    if application.stages.exists():
        return list(application.stages.all())
    return JourneyStage.objects.bulk_create(
        JourneyStage(application=application, order=index, slug=slug, name=name, description=text, entry_rule=rule)
        for index, (slug, name, text, rule) in enumerate(DEFAULT_STAGES)
    )


@transaction.atomic
def application_create(*, name: str, allowed_origins: list[str] | None = None, **fields) -> Application:
    application = Application.objects.create(name=name, allowed_origins=allowed_origins or [], **fields)
    stages_seed_default(application=application)
    logger.info("application.created", extra={"application_id": application.id})
    return application


def application_rotate_key(*, application: Application, which: str) -> str:
    """Replace one of the application's keys; the old one stops working at once."""
    if which not in ROTATABLE:
        raise ValueError(f"unknown key {which!r}; use one of {', '.join(ROTATABLE)}")
    value = ROTATABLE[which]()
    setattr(application, which, value)
    application.save(update_fields=[which, "updated_at"])
    application_config_changed(application_id=application.id)
    logger.info("application.key_rotated", extra={"application_id": application.id, "key": which})
    return value


def guide_publish_errors(guide: Guide) -> list[str]:
    """What stops ``guide`` from being published, in words a PM understands."""
    errors: list[str] = []
    known_stages = set(guide.application.stages.values_list("slug", flat=True))
    if guide.archived_at:
        errors.append("Archived guides cannot be published; duplicate it instead.")
    if guide.kind == Guide.Kind.TOUR:
        if not guide.steps.exists():
            errors.append("A tour needs at least one step.")
    elif guide.kind == Guide.Kind.CHECKLIST:
        if not guide.items.exists():
            errors.append("A checklist needs at least one item.")
    elif guide.kind == Guide.Kind.BAR:
        if not guide.bar_message.strip():
            errors.append("A notification bar needs a message.")
        if guide.buttons.count() > 2:
            errors.append("A notification bar has at most two buttons.")
    elif guide.kind == Guide.Kind.SURVEY and not guide.survey_question.strip():
        errors.append("A survey needs a question.")
    if guide.trigger == Guide.Trigger.ELEMENT and not guide.trigger_selector:
        errors.append("The trigger 'when an element appears' needs a CSS selector.")
    if guide.trigger == Guide.Trigger.EVENT and not guide.trigger_event:
        errors.append("The trigger 'when an event happens' needs an event name.")
    if guide.frequency == Guide.Frequency.MAX_TIMES and not guide.max_times:
        errors.append("The frequency 'at most N times' needs N.")
    if guide.starts_at and guide.ends_at and guide.ends_at <= guide.starts_at:
        errors.append("The schedule ends before it starts.")
    if guide.segment_id:
        errors.extend(
            f"Segment {guide.segment.name}: {error}"
            for error in validate_rule(guide.segment.rule, known_stages=known_stages)
        )
    for url_rule in guide.url_rules.all():
        errors.extend(f"URL rule {url_rule.pattern!r}: {e}" for e in validate_url_rule(url_rule.match_type, url_rule.pattern))
    return errors


@transaction.atomic
def guide_publish(*, guide: Guide, by=None) -> GuideVersion:
    """Freeze the draft into a new immutable version and make it the live one."""
    guide = Guide.objects.select_for_update().get(pk=guide.pk)
    errors = guide_publish_errors(guide)
    if errors:
        raise ValidationError(errors)
    number = (guide.versions.aggregate(last=Max("number"))["last"] or 0) + 1
    version = GuideVersion.objects.create(
        guide=guide, number=number, payload=guide_payload(guide, version=number), published_by=by
    )
    guide.live_version = version
    guide.save(update_fields=["live_version", "updated_at"])
    application_config_changed(application_id=guide.application_id)
    logger.info("guide.published", extra={"guide_id": guide.id, "version": number, "by": getattr(by, "id", None)})
    return version


@transaction.atomic
def guide_unpublish(*, guide: Guide, by=None) -> None:
    changed = Guide.objects.filter(pk=guide.pk, live_version__isnull=False).update(
        live_version=None, updated_at=timezone.now()
    )
    guide.live_version = None
    if not changed:
        return
    application_config_changed(application_id=guide.application_id)
    logger.info("guide.unpublished", extra={"guide_id": guide.id, "by": getattr(by, "id", None)})


@transaction.atomic
def guide_archive(*, guide: Guide, by=None) -> None:
    guide_unpublish(guide=guide, by=by)
    Guide.objects.filter(pk=guide.pk).update(archived_at=timezone.now(), updated_at=timezone.now())
    logger.info("guide.archived", extra={"guide_id": guide.id, "by": getattr(by, "id", None)})


@transaction.atomic
def guide_duplicate(*, guide: Guide) -> Guide:
    """A new draft copy of ``guide`` with its steps, items, buttons, URL rules and stages."""
    stages = list(guide.stages.all())
    children = {
        "steps": list(guide.steps.all()),
        "items": list(guide.items.all()),
        "buttons": list(guide.buttons.all()),
        "url_rules": list(guide.url_rules.all()),
    }
    copy = Guide.objects.get(pk=guide.pk)
    copy.pk = copy.id = None
    copy.name = f"Copy of {guide.name}"[:160]
    copy.live_version = None
    copy.archived_at = None
    copy.save()
    copy.stages.set(stages)
    for rows in children.values():
        for row in rows:
            row.pk = row.id = None
            row.guide = copy
            row.save()
    return copy


def segment_save(*, segment: Segment) -> Segment:
    """Save a segment and invalidate decisions that depend on it."""
    segment.save()
    application_config_changed(application_id=segment.application_id)
    return segment
