"""Journey analytics pages in Chromium: they render, draw their charts, and pass axe-core."""

import pytest

from analytics.views.page import PAGES
from tests.browser.conftest import axe_violations
from tests.factories import make_journey_history, make_staff_user
from wayline.demo import demo_application_setup
from wayline.roles import VIEWERS

# Every canvas whose spec has data carries data-drawn="true" once charts.js drew it.
UNDRAWN_CHARTS = """() => Array.from(document.querySelectorAll("canvas[data-chart]")).filter(c => {
    const spec = JSON.parse(document.getElementById(c.dataset.chart).textContent);
    return spec.labels.length > 0 && c.dataset.drawn !== "true";
}).map(c => c.dataset.chart)"""


@pytest.fixture
def demo_history(transactional_db, settings):
    settings.WAYLINE_REPORTS_REFRESH_ON_READ = True
    application = demo_application_setup()
    events = make_journey_history(application, users=40)
    assert events > 200
    return application


def test_analytics_pages__viewer_in_chromium__render_draw_charts_and_pass_axe(demo_history, admin_login,
                                                                              live_server, console):
    make_staff_user("analyst", group=VIEWERS)
    page = admin_login("analyst", "pw-analyst")
    console.attach(page)
    problems = {}

    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Journey analytics").first.click()
    page.wait_for_url(f"{live_server.url}/admin/journey-analytics/")
    problems["index"] = axe_violations(page)
    for report in PAGES:
        page.goto(f"{live_server.url}/admin/journey-analytics/{report.slug}/")
        page.locator("h1", has_text=report.title).wait_for()
        assert page.locator(".wl-empty", has_text="in this period").count() == 0, report.slug
        assert page.locator("table.wl-table").count() >= 1, report.slug
        if report.slug != "journey-map":
            assert page.locator('canvas[data-drawn="true"]').count() >= 1, report.slug
        assert page.evaluate(UNDRAWN_CHARTS) == [], report.slug
        violations = axe_violations(page)
        if violations:
            problems[report.slug] = violations

    assert console.errors == []
    assert {slug: v for slug, v in problems.items() if v} == {}
