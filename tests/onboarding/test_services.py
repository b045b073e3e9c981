import pytest
from django.core.exceptions import ValidationError

from onboarding.journey import DEFAULT_STAGES
from onboarding.models import Application, Guide, GuideVersion, TourStep
from onboarding.selectors import guide_draft_diff, guide_has_unpublished_changes, live_guide_payloads
from onboarding.services import (
    application_rotate_key,
    guide_archive,
    guide_duplicate,
    guide_publish,
    guide_unpublish,
)
from tests.factories import add_url_rule, make_application, make_guide


def config_version(application) -> int:
    return Application.objects.get(pk=application.pk).config_version


def test_application_create__new__keys_generated_and_journey_seeded(application):
    assert application.publishable_key.startswith("wl_pk_")
    assert application.secret_key.startswith("wl_sk_")
    assert len(application.identity_secret) == 64
    assert [stage.slug for stage in application.stages.order_by("order")] == [slug for slug, *_ in DEFAULT_STAGES]


def test_application_create__two_apps__keys_differ(db):
    first, second = make_application("A"), make_application("B")
    assert {first.publishable_key, first.secret_key} & {second.publishable_key, second.secret_key} == set()


@pytest.mark.parametrize("which", ["publishable_key", "secret_key", "identity_secret"])
def test_application_rotate_key__any_key__replaced_and_config_bumped(application, which):
    before, version = getattr(application, which), config_version(application)
    application_rotate_key(application=application, which=which)
    application.refresh_from_db()
    assert getattr(application, which) != before
    assert application.config_version == version + 1


def test_application_rotate_key__unknown_key__refused(application):
    with pytest.raises(ValueError, match="unknown key"):
        application_rotate_key(application=application, which="password")


def test_guide_publish__draft__version_one_live_and_config_bumped(application, editor):
    guide = make_guide(application, Guide.Kind.TOUR)
    version_before = config_version(application)
    version = guide_publish(guide=guide, by=editor)
    guide.refresh_from_db()
    assert (version.number, version.published_by) == (1, editor)
    assert guide.live_version == version
    assert version.payload["content"]["steps"][0]["selector"] == "#connect"
    assert config_version(application) == version_before + 1


def test_guide_publish__draft_edited_after_publish__live_version_unchanged(application):
    guide = make_guide(application, Guide.Kind.TOUR)
    guide_publish(guide=guide)
    # When the PM edits the draft's step.
    TourStep.objects.filter(guide=guide).update(title="Edited title")
    guide.refresh_from_db()
    # Then what end users receive is still the published text, and the draft is flagged as changed.
    assert live_guide_payloads(application=application)[0]["content"]["steps"][0]["title"] == "Connect"
    assert guide_has_unpublished_changes(guide)
    assert any("Edited title" in line and line.startswith("+") for line in guide_draft_diff(guide))


def test_guide_publish__republished__new_version_and_old_kept(application):
    guide = make_guide(application, Guide.Kind.TOUR)
    guide_publish(guide=guide)
    TourStep.objects.filter(guide=guide).update(title="Second")
    second = guide_publish(guide=guide)
    assert second.number == 2
    assert GuideVersion.objects.get(guide=guide, number=1).payload["content"]["steps"][0]["title"] == "Connect"
    assert not guide_has_unpublished_changes(Guide.objects.get(pk=guide.pk))


@pytest.mark.parametrize(
    ("kind", "fields", "message"),
    [
        (Guide.Kind.SURVEY, {"survey_question": " "}, "needs a question"),
        (Guide.Kind.TOUR, {"trigger": "element"}, "needs a CSS selector"),
        (Guide.Kind.TOUR, {"trigger": "event"}, "needs an event name"),
        (Guide.Kind.TOUR, {"frequency": "max_times"}, "needs N"),
    ],
    ids=["survey-without-question", "element-trigger-without-selector", "event-trigger-without-name", "max-times-without-n"],
)
def test_guide_publish__incomplete_guide__refused_with_reason(application, kind, fields, message):
    guide = make_guide(application, kind, **fields)
    with pytest.raises(ValidationError, match=message):
        guide_publish(guide=guide)
    assert Guide.objects.get(pk=guide.pk).live_version is None


def test_guide_publish__tour_without_steps__refused(application):
    guide = Guide.objects.create(application=application, kind=Guide.Kind.TOUR, name="Empty")
    with pytest.raises(ValidationError, match="at least one step"):
        guide_publish(guide=guide)


def test_guide_publish__bad_url_rule__refused(application):
    guide = make_guide(application, Guide.Kind.BAR)
    add_url_rule(guide, "(unclosed", match_type="regex")
    with pytest.raises(ValidationError, match="unclosed"):
        guide_publish(guide=guide)


def test_guide_unpublish__live_guide__not_live_and_config_bumped(application):
    guide = make_guide(application, Guide.Kind.BAR)
    guide_publish(guide=guide)
    version = config_version(application)
    guide_unpublish(guide=guide)
    assert live_guide_payloads(application=application) == []
    assert config_version(application) == version + 1


def test_guide_archive__live_guide__unpublished_archived_and_not_publishable(application):
    guide = make_guide(application, Guide.Kind.CHECKLIST)
    guide_publish(guide=guide)
    guide_archive(guide=guide)
    guide.refresh_from_db()
    assert guide.archived_at is not None and guide.live_version is None
    with pytest.raises(ValidationError, match="Archived"):
        guide_publish(guide=guide)


def test_guide_duplicate__tour_with_rules__children_copied_as_draft(application):
    guide = make_guide(application, Guide.Kind.TOUR, name="Tour")
    guide.stages.set(application.stages.filter(slug="onboarding"))
    add_url_rule(guide, "/settings")
    guide_publish(guide=guide)
    copy = guide_duplicate(guide=guide)
    assert copy.pk != guide.pk and copy.name == "Copy of Tour" and copy.live_version is None
    assert list(copy.steps.values_list("selector", flat=True)) == ["#connect"]
    assert list(copy.url_rules.values_list("pattern", flat=True)) == ["/settings"]
    assert list(copy.stages.values_list("slug", flat=True)) == ["onboarding"]
    assert guide.steps.count() == 1


def test_live_guide_payloads__priorities__highest_first(application):
    low = make_guide(application, Guide.Kind.BAR, name="low", priority=1)
    high = make_guide(application, Guide.Kind.BAR, name="high", priority=9)
    for guide in (low, high):
        guide_publish(guide=guide)
    assert [payload["name"] for payload in live_guide_payloads(application=application)] == ["high", "low"]


def test_guide_payload__targeting__frozen_with_stages_and_rules(application):
    guide = make_guide(application, Guide.Kind.SURVEY, device="mobile", priority=3)
    guide.stages.set(application.stages.filter(slug__in=["adoption", "retention"]))
    add_url_rule(guide, "/billing", exclude=True)
    payload = guide_publish(guide=guide).payload
    assert payload["targeting"]["stages"] == ["adoption", "retention"]
    assert payload["targeting"]["device"] == "mobile"
    assert payload["targeting"]["url_rules"] == [{"match_type": "prefix", "pattern": "/billing", "exclude": True}]
    assert payload["modal"] is True and payload["type"] == "survey"
