"""The in-process cache of an application's published configuration, invalidated by its version."""
import pytest

from onboarding.config_cache import (
    NEVER,
    draft_guide_get,
    published_config_build,
    published_config_clear,
    published_config_get,
)
from onboarding.models import Application, Guide
from onboarding.services import guide_archive, guide_publish, guide_unpublish, segment_save
from tests.factories import make_application, make_guide, make_guide_payload, make_live_guide, make_segment


@pytest.fixture(autouse=True)
def _empty_cache():
    published_config_clear()
    yield
    published_config_clear()


def fresh(application: Application) -> Application:
    """The application as a request reads it: with its current config_version."""
    return Application.objects.get(pk=application.pk)


def test_published_config_get__first_call__built_from_live_guides_segments_and_stages(application):
    segment = make_segment(application, rule={"event": "report_viewed", "within_days": 7})
    tour = make_live_guide(application, Guide.Kind.TOUR, priority=1, stages=["activation"], segment=segment,
                           url_rules=[("/settings", "prefix", False), ("/settings/old", "prefix", True)])
    bar = make_live_guide(application, Guide.Kind.BAR, priority=5, device=Guide.Device.MOBILE)
    make_guide(application, Guide.Kind.SURVEY, name="draft only")
    manual_draft = make_guide(application, Guide.Kind.BAR, trigger=Guide.Trigger.MANUAL)
    config = published_config_get(application=fresh(application))
    assert [guide.id for guide in config.guides] == [bar.id, tour.id]
    live_tour = config.by_id[tour.id]
    assert live_tour.stages == {"activation"}
    assert live_tour.include_rules == (("prefix", "/settings"),)
    assert live_tour.exclude_rules == (("prefix", "/settings/old"),)
    assert "targeting" not in live_tour.payload
    assert config.by_id[bar.id].device == "mobile"
    assert config.segment_rules == {segment.id: segment.rule}
    assert config.counter_keys == {("report_viewed", 7)}
    assert config.stages[:3] == ("signup", "onboarding", "activation")
    assert config.theme["primary_color"] == application.primary_color
    assert (config.throttle_per_hour, config.throttle_per_day) == (2, 5)
    assert config.manual_guide_ids == {manual_draft.id}


def test_published_config_get__version_unchanged__one_query_and_no_rebuild(application, django_assert_num_queries):
    make_live_guide(application)
    first = published_config_get(application=fresh(application))
    with django_assert_num_queries(1):  # the version, nothing else
        again = published_config_get(application=application)
    assert again is first


def test_published_config_get__application_object_stale__version_read_from_database(application):
    # The key cache of the API may hand out an Application read seconds ago.
    stale = fresh(application)
    assert published_config_get(application=stale).guides == ()
    guide = make_live_guide(application)
    assert set(published_config_get(application=stale).by_id) == {guide.id}


@pytest.mark.parametrize(
    "change",
    ["publish", "unpublish", "archive", "segment"],
    ids=["guide-published", "guide-unpublished", "guide-archived", "segment-saved"],
)
def test_published_config_get__configuration_changed__next_call_sees_it(application, change):
    segment = make_segment(application, rule={"trait": "plan", "op": "eq", "value": "pro"})
    live = make_live_guide(application, segment=segment)
    draft = make_guide(application, Guide.Kind.BAR)
    before = published_config_get(application=fresh(application))
    if change == "publish":
        guide_publish(guide=draft)
    elif change == "unpublish":
        guide_unpublish(guide=live)
    elif change == "archive":
        guide_archive(guide=live)
    else:
        segment.rule = {"trait": "plan", "op": "eq", "value": "team"}
        segment_save(segment=segment)
    after = published_config_get(application=fresh(application))
    assert after.version > before.version
    expected = {
        "publish": {live.id, draft.id},
        "unpublish": set(),
        "archive": set(),
        "segment": {live.id},
    }[change]
    assert set(after.by_id) == expected
    if change == "segment":
        assert after.segment_rules[segment.id]["value"] == "team"


def test_published_config_get__two_applications__each_sees_only_its_own_guides(application):
    other = make_application("Other")
    mine, theirs = make_live_guide(application), make_live_guide(other)
    assert set(published_config_get(application=fresh(application)).by_id) == {mine.id}
    assert set(published_config_get(application=fresh(other)).by_id) == {theirs.id}
    assert set(published_config_get(application=fresh(application)).by_id) == {mine.id}


def test_published_config_get__id_reused_by_new_application__rebuilt(application):
    # A rolled-back test database can hand the same id to a new application.
    make_live_guide(application)
    assert len(published_config_get(application=fresh(application)).guides) == 1
    reused_id = application.pk
    Application.objects.filter(pk=reused_id).delete()
    reborn = Application.objects.create(id=reused_id, name="Reborn", config_version=2)
    assert published_config_get(application=reborn).guides == ()


def test_published_config_build__live_priority_changed_in_draft__frozen_priority_orders():
    config = published_config_build(
        application_id=1, version=1, segments={}, stages=[], theme={},
        payloads=[make_guide_payload(1, priority=1), make_guide_payload(2, priority=3), make_guide_payload(3, priority=3)],
    )
    assert [guide.id for guide in config.guides] == [2, 3, 1]


def test_published_config_build__segment_missing_or_invalid__never_matches():
    config = published_config_build(
        application_id=1, version=1, stages=[], theme={},
        payloads=[make_guide_payload(1, segment_id=4), make_guide_payload(2, segment_id=5)],
        segments={5: {"event": ""}},
    )
    assert config.segment_rules == {4: NEVER, 5: NEVER}
    assert config.counter_keys == frozenset()


def test_draft_guide_get__guide_of_other_application__none(application):
    other = make_application("Other")
    guide = make_guide(other)
    assert draft_guide_get(application_id=application.id, guide_id=guide.id) is None
    draft = draft_guide_get(application_id=other.id, guide_id=guide.id)
    assert (draft.id, draft.payload["version"]) == (guide.id, 0)
