"""The experiment result page as a reviewer meets it: real browser, real server, charts drawn, accessible."""
from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.conftest import axe_violations
from tests.factories import make_application, make_experiment, make_exposed_population, make_staff_user
from wayline.roles import VIEWERS

START = timezone.now().replace(microsecond=0) - timedelta(days=60)


@pytest.fixture
def experiment(transactional_db):
    application = make_application("Acme")
    experiment = make_experiment(application, start=True, started_at=START)
    make_exposed_population(experiment, {"control": (300, 60), "treatment": (300, 105)}, start=START)
    return experiment


def test_results_page__viewer_in_chromium__verdict_table_charts_no_errors_accessible(
    experiment, live_server, admin_login, console
):
    make_staff_user("reviewer", group=VIEWERS)
    page = admin_login("reviewer", "pw-reviewer")
    page.goto(f"{live_server.url}/admin/experiments/experiment/{experiment.pk}/results/")

    verdict = page.get_by_test_id("verdict")
    assert verdict.inner_text().startswith("Treatment raised Activation by 15.0 pp (95 % CI ")
    table = page.locator("table.wl-table").first
    assert table.locator("tbody tr").count() == 2
    assert "+15.0 pp" in table.locator("tbody tr").nth(1).inner_text()
    page.locator('canvas[data-chart="wl-metric-chart-0"][data-drawn="true"]').wait_for()
    page.locator('canvas[data-chart="wl-survival-chart"][data-drawn="true"]').wait_for()
    assert page.locator("canvas[data-chart]").count() == page.locator('canvas[data-drawn="true"]').count()
    assert page.locator("progress").count() == 2
    assert console.errors == []
    assert axe_violations(page) == []
