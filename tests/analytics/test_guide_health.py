"""Selector health: the share of a live tour's step views whose target was not found."""
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from analytics.guide_health import WINDOW_DAYS, guide_selector_health_get, selector_health_lines
from onboarding.models import GuideVersion
from tests.factories import make_application, make_event, make_known_user, make_live_tour, make_staff_user
from wayline.roles import EDITORS

pytestmark = pytest.mark.django_db

VIEWED, FAILED = "$guide_step_viewed", "$guide_render_failed"


@pytest.fixture
def tour():
    application = make_application("Acme")
    tour = make_live_tour(application, [{"selector": "#a"}, {"selector": "#old-button"}, {"selector": "#c"}])
    GuideVersion.objects.filter(pk=tour.live_version_id).update(published_at=timezone.now() - timedelta(days=2))
    tour.refresh_from_db()
    return tour


def views(user, tour, step_index, count, name=VIEWED, at=None, **properties):
    at = at or timezone.now() - timedelta(hours=1)
    for _ in range(count):
        make_event(user, name, at, guide_id=tour.id, step_index=step_index, **properties)


def test_selector_health__failures_on_one_step__share_per_step(tour):
    # Given 4 views of step 2 of which 3 failed, and step 1 always found
    user = make_known_user(tour.application, "u1")
    views(user, tour, 0, 5)
    views(user, tour, 1, 1)
    views(user, tour, 1, 3, name=FAILED, selector="#old-button", reason="target_not_found")

    health = guide_selector_health_get(guide=tour)

    assert [(s.step_index, s.views, s.failed, s.selector) for s in health.steps] == [
        (0, 5, 0, None), (1, 4, 3, "#old-button")]
    assert health.steps[1].failed_share == 3 / 4
    assert health.since == tour.live_version.published_at
    assert selector_health_lines(health) == [
        f"Step 2 (#old-button): target not found on 75 % of views since {health.since:%Y-%m-%d} (3 of 4)."]


def test_selector_health__events_before_publishing_or_of_other_guides__not_counted(tour):
    user = make_known_user(tour.application, "u1")
    other = make_live_tour(tour.application, [{"selector": "#x"}], name="Other")
    views(user, tour, 0, 2, name=FAILED, at=tour.live_version.published_at - timedelta(minutes=1), selector="#a")
    views(user, other, 0, 2, name=FAILED, selector="#x")
    views(user, tour, 0, 1)

    health = guide_selector_health_get(guide=tour)

    assert [(s.step_index, s.views, s.failed) for s in health.steps] == [(0, 1, 0)]
    assert selector_health_lines(health)[0].startswith("Every target was found since")


def test_selector_health__published_long_ago__window_starts_days_back(tour):
    GuideVersion.objects.filter(pk=tour.live_version_id).update(published_at=timezone.now() - timedelta(days=400))
    tour.refresh_from_db()
    now = timezone.now()

    health = guide_selector_health_get(guide=tour, now=now)

    assert health.since == now - timedelta(days=WINDOW_DAYS)
    assert selector_health_lines(health) == [f"No step views since {health.since:%Y-%m-%d}."]


def test_selector_health__draft_never_published__none(tour):
    tour.live_version = None

    assert guide_selector_health_get(guide=tour) is None
    assert "once the tour is live" in selector_health_lines(None)[0]


def test_tour_admin_page__render_failures__health_sentence_shown(client, tour):
    user = make_known_user(tour.application, "u1")
    views(user, tour, 1, 1)
    views(user, tour, 1, 1, name=FAILED, selector="#old-button", reason="target_not_found")
    client.force_login(make_staff_user("pm", group=EDITORS))

    response = client.get(reverse("admin:onboarding_tourguide_change", args=[tour.pk]))

    assert response.status_code == 200
    assert "Step 2 (#old-button): target not found on 50 % of views since" in response.content.decode()
