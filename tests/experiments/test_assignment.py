"""Applying running experiments to the content decision: variants, holdouts, exposures, cost."""
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from analytics.decision import guide_content
from experiments.assignment import experiment_plans_clear, guides_for_user, unit_id_for, variant_for
from experiments.bucketing import assign
from experiments.models import Experiment, Exposure
from experiments.selectors import experiment_plans_load
from experiments.services import experiment_decide, experiment_stop
from onboarding.config_cache import live_guide_from_payload, published_config_clear
from onboarding.models import Application
from onboarding.services import guide_publish
from tests.factories import (
    make_account_with_traits,
    make_experiment,
    make_exposure,
    make_known_user,
    make_live_guide,
    make_segment,
)

NOW = datetime(2025, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _empty_caches():
    experiment_plans_clear()
    published_config_clear()
    yield
    experiment_plans_clear()
    published_config_clear()


@pytest.fixture
def guides(application):
    """The current tour (control), a new tour (treatment) and an unrelated bar, all live."""
    return {
        "current": make_live_guide(application, name="Current tour", priority=5),
        "new": make_live_guide(application, name="New tour", priority=5),
        "bar": make_live_guide(application, "bar", name="Unrelated bar", priority=1),
    }


@pytest.fixture
def ab_test(application, guides):
    return make_experiment(
        application,
        variants=[("control", guides["current"], 50, True), ("new-tour", guides["new"], 50, False)],
        start=True,
    )


def decided(*guides) -> list[dict]:
    """Payload dicts as the content decision hands them over."""
    return [guide_content(live_guide_from_payload(g.live_version.payload), None) for g in guides]


def fresh(application) -> Application:
    return Application.objects.get(pk=application.pk)


def user_in(experiment, key, application, *, prefix="u", account=None):
    """The first new user the hash puts in variant ``key``."""
    plan = next(p for p in experiment_plans_load(application_id=application.id) if p.id == experiment.id)
    for index in range(200):
        user = make_known_user(application, f"{prefix}-{key}-{index}", account=account)
        variant = variant_for(plan, unit_id_for(plan, user))
        if variant is not None and variant.key == key:
            return user
        user.delete()
    raise AssertionError(f"no user landed in {key}")


def ids(payloads) -> list[int]:
    return [payload["id"] for payload in payloads]


def test_guides_for_user__treatment_user__sees_own_guide_tagged_and_exposed_once(application, guides, ab_test):
    user = user_in(ab_test, "new-tour", application)
    shown = guides_for_user(application=fresh(application), user=user, guides=decided(*guides.values()), now=NOW)
    assert ids(shown) == [guides["new"].id, guides["bar"].id]
    assert shown[0]["experiment"] == {"id": ab_test.id, "variant": "new-tour"}
    assert shown[1]["experiment"] is None
    again = guides_for_user(application=fresh(application), user=user, guides=decided(*guides.values()), now=NOW + timedelta(days=1))
    assert ids(again) == ids(shown)
    exposure = Exposure.objects.get(experiment=ab_test, user=user)
    assert (exposure.variant.key, exposure.exposed_at, exposure.unit_id) == ("new-tour", NOW, f"user:{user.pk}")


def test_guides_for_user__control_user__keeps_current_guide_tagged_control(application, guides, ab_test):
    user = user_in(ab_test, "control", application)
    shown = guides_for_user(application=fresh(application), user=user, guides=decided(*guides.values()), now=NOW)
    assert ids(shown) == [guides["current"].id, guides["bar"].id]
    assert shown[0]["experiment"] == {"id": ab_test.id, "variant": "control"}
    assert Exposure.objects.get(experiment=ab_test, user=user).variant.is_control


def test_guides_for_user__control_without_guide__drops_treatment_guide(application, guides):
    experiment = make_experiment(
        application, variants=[("control", None, 50, True), ("new-tour", guides["new"], 50, False)], start=True
    )
    user = user_in(experiment, "control", application)
    shown = guides_for_user(application=fresh(application), user=user, guides=decided(guides["new"], guides["bar"]), now=NOW)
    assert ids(shown) == [guides["bar"].id]
    assert Exposure.objects.filter(experiment=experiment, user=user).count() == 1


def test_guides_for_user__unknown_user__control_experience_untagged_no_exposure(application, guides, ab_test):
    shown = guides_for_user(application=fresh(application), user=None, guides=decided(*guides.values()), now=NOW)
    assert ids(shown) == [guides["current"].id, guides["bar"].id]
    assert shown[0]["experiment"] is None
    assert not Exposure.objects.exists()


def test_guides_for_user__no_experiment_guide_decided__unchanged_and_not_exposed(application, guides, ab_test):
    user = make_known_user(application, "bar-only")
    shown = guides_for_user(application=fresh(application), user=user, guides=decided(guides["bar"]), now=NOW)
    assert ids(shown) == [guides["bar"].id]
    assert not Exposure.objects.exists()


def test_guides_for_user__outside_traffic_share__control_experience_no_exposure(application, guides, ab_test):
    Experiment.objects.filter(pk=ab_test.pk).update(traffic_share=0.0)
    experiment_plans_clear()
    user = make_known_user(application, "outsider")
    shown = guides_for_user(application=fresh(application), user=user, guides=decided(*guides.values()), now=NOW)
    assert ids(shown) == [guides["current"].id, guides["bar"].id]
    assert shown[0]["experiment"] is None
    assert not Exposure.objects.exists()


def test_guides_for_user__stored_exposure__wins_over_hash(application, guides, ab_test):
    # A merged user: their stored variant differs from what their pk hashes to.
    user = user_in(ab_test, "control", application)
    make_exposure(ab_test, ab_test.variants.get(key="new-tour"), user, NOW - timedelta(days=3))
    shown = guides_for_user(application=fresh(application), user=user, guides=decided(*guides.values()), now=NOW)
    assert ids(shown) == [guides["new"].id, guides["bar"].id]
    assert Exposure.objects.get(user=user).exposed_at == NOW - timedelta(days=3)


def test_guides_for_user__account_randomisation__colleagues_share_variant(application, guides):
    experiment = make_experiment(
        application, randomization_unit=Experiment.Unit.ACCOUNT,
        variants=[("control", guides["current"], 50, True), ("new-tour", guides["new"], 50, False)], start=True,
    )
    account = make_account_with_traits(application, "globex")
    colleagues = [make_known_user(application, f"globex-{i}", account=account) for i in range(6)]
    for user in colleagues:
        guides_for_user(application=fresh(application), user=user, guides=decided(*guides.values()), now=NOW)
    exposures = Exposure.objects.filter(experiment=experiment)
    assert exposures.count() == 6
    assert set(exposures.values_list("unit_id", flat=True)) == {f"account:{account.pk}"}
    assert exposures.values("variant").distinct().count() == 1


def test_guides_for_user__stage_targeting__other_stage_not_exposed(application, guides):
    experiment = make_experiment(
        application, variants=[("control", guides["current"], 50, True), ("new-tour", guides["new"], 50, False)]
    )
    experiment.stages.set(application.stages.filter(slug="onboarding"))
    from experiments.services import experiment_start

    experiment_start(experiment=experiment)
    outside = make_known_user(application, "adopter", stage="adoption")
    inside = make_known_user(application, "newbie", stage="onboarding")
    for user in (outside, inside):
        guides_for_user(application=fresh(application), user=user, guides=decided(*guides.values()), now=NOW)
    assert list(Exposure.objects.values_list("user__external_id", flat=True)) == ["newbie"]


def test_guides_for_user__segment_targeting__only_members_exposed(application, guides):
    segment = make_segment(application, rule={"trait": "persona", "op": "eq", "value": "founder"})
    experiment = make_experiment(
        application, segment=segment,
        variants=[("control", guides["current"], 50, True), ("new-tour", guides["new"], 50, False)], start=True,
    )
    founder = make_known_user(application, "founder", traits={"persona": "founder"})
    engineer = make_known_user(application, "engineer", traits={"persona": "engineer"})
    for user in (founder, engineer):
        guides_for_user(application=fresh(application), user=user, guides=decided(*guides.values()), now=NOW)
    assert list(Exposure.objects.filter(experiment=experiment).values_list("user__external_id", flat=True)) == ["founder"]


@pytest.mark.parametrize(("key", "expected"), [("holdout", []), ("guided", ["current", "bar"])], ids=["holdout", "guided"])
def test_guides_for_user__global_holdout__holdout_sees_nothing(application, guides, key, expected):
    experiment = make_experiment(
        application, kind=Experiment.Kind.HOLDOUT, variants=[("holdout", None, 10, True), ("guided", None, 90, False)],
        start=True,
    )
    user = user_in(experiment, key, application)
    shown = guides_for_user(application=fresh(application), user=user, guides=decided(guides["current"], guides["bar"]), now=NOW)
    assert ids(shown) == [guides[name].id for name in expected]
    assert Exposure.objects.get(user=user).variant.key == key


def test_guides_for_user__holdout_no_guides_decided__not_exposed(application, guides):
    make_experiment(
        application, kind=Experiment.Kind.HOLDOUT, variants=[("holdout", None, 50, True), ("guided", None, 50, False)],
        start=True,
    )
    user = make_known_user(application, "nothing-to-show")
    assert guides_for_user(application=fresh(application), user=user, guides=[], now=NOW) == []
    assert not Exposure.objects.exists()


def test_guides_for_user__stopped_then_decided__control_until_decision_then_untouched(application, guides, ab_test, editor):
    user = user_in(ab_test, "new-tour", application)
    experiment_stop(experiment=ab_test)
    shown = guides_for_user(application=fresh(application), user=user, guides=decided(*guides.values()), now=NOW)
    assert ids(shown) == [guides["current"].id, guides["bar"].id]
    assert not Exposure.objects.exists()
    experiment_decide(experiment=ab_test, by=editor, decision=Experiment.Decision.STOP, note="no effect")
    shown = guides_for_user(application=fresh(application), user=user, guides=decided(*guides.values()), now=NOW)
    assert ids(shown) == [g.id for g in guides.values()]


def test_guides_for_user__pinned_version__serves_pinned_payload_with_state(application, guides, ab_test):
    new = guides["new"]
    pinned = new.live_version
    new.steps.update(title="Changed after the test started")
    guide_publish(guide=new)
    from experiments.models import Variant

    Variant.objects.filter(experiment=ab_test, key="new-tour").update(guide_version=pinned)
    experiment_plans_clear()
    user = user_in(ab_test, "new-tour", application)
    new.refresh_from_db()
    payloads = decided(guides["current"], new)
    payloads[1]["state"] = {"seen_count": 2, "dismissed": False, "completed": False}
    [shown] = guides_for_user(application=fresh(application), user=user, guides=payloads, now=NOW)
    assert shown["version"] == pinned.number == 1
    assert shown["content"]["steps"][0]["title"] == "Connect"
    assert shown["state"]["seen_count"] == 2
    assert shown["experiment"]["variant"] == "new-tour"


def test_guides_for_user__warm_cache__one_query_per_known_user(application, guides, ab_test, django_assert_num_queries):
    user = user_in(ab_test, "control", application)
    current = fresh(application)
    guides_for_user(application=current, user=user, guides=decided(*guides.values()), now=NOW)  # exposes, warms
    payloads = decided(*guides.values())
    with django_assert_num_queries(1):
        guides_for_user(application=current, user=user, guides=payloads, now=NOW)
    with django_assert_num_queries(0):
        guides_for_user(application=current, user=None, guides=decided(*guides.values()), now=NOW)


def test_guides_for_user__started_after_cache_warm__new_version_applies(application, guides):
    experiment = make_experiment(
        application, variants=[("control", guides["current"], 50, True), ("new-tour", guides["new"], 50, False)]
    )
    before = fresh(application)
    assert ids(guides_for_user(application=before, user=None, guides=decided(*guides.values()), now=NOW)) == [
        g.id for g in guides.values()
    ]
    from experiments.services import experiment_start

    experiment_start(experiment=experiment)
    after = fresh(application)
    assert after.config_version > before.config_version
    assert ids(guides_for_user(application=after, user=None, guides=decided(*guides.values()), now=NOW)) == [
        guides["current"].id, guides["bar"].id
    ]


def test_variant_for__plan__same_as_bucketing_assign(application, ab_test):
    plan = experiment_plans_load(application_id=application.id)[0]
    for unit in (f"user:{n}" for n in range(300)):
        index = assign(ab_test.salt, unit, ab_test.traffic_share, [50, 50])
        assert variant_for(plan, unit).key == ("control", "new-tour")[index]


def test_content_endpoint__running_experiment__treatment_guide_tagged(client, application, guides, ab_test):
    user = user_in(ab_test, "new-tour", application, prefix="api")
    response = client.get(
        reverse("api-content"),
        {"user_id": user.external_id, "url": "https://app.acme.test/", "device": "desktop", "session_id": "s-1"},
        HTTP_X_WAYLINE_KEY=application.publishable_key,
    )
    assert response.status_code == 200, response.content
    body = response.json()["guides"]
    assert [g["id"] for g in body] == [guides["new"].id, guides["bar"].id]
    assert body[0]["experiment"] == {"id": ab_test.id, "variant": "new-tour"}
    assert Exposure.objects.filter(experiment=ab_test, user=user).exists()
