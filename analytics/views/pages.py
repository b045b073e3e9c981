"""The journey analytics pages in index order, the index page, and their admin URLs."""
from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.urls import path

from analytics.views.journey_pages import JOURNEY_PAGES
from analytics.views.outcome_pages import OUTCOME_PAGES
from analytics.views.page import PAGES, can_read_reports

PAGES.extend([JOURNEY_PAGES[0], JOURNEY_PAGES[1], OUTCOME_PAGES[0], OUTCOME_PAGES[1], OUTCOME_PAGES[2],
              OUTCOME_PAGES[3], OUTCOME_PAGES[4], JOURNEY_PAGES[2], JOURNEY_PAGES[3], OUTCOME_PAGES[5]])


def journey_index(request):
    if not can_read_reports(request.user):
        raise PermissionDenied
    return render(request, "analytics/index.html",
                  {**admin.site.each_context(request), "title": "Journey analytics", "pages": PAGES})


def journey_urls(site: admin.AdminSite) -> list:
    """Admin URLs (names ``admin:journey_index`` and ``admin:journey_<slug>``), behind the admin login."""
    return [
        path("journey-analytics/", site.admin_view(journey_index), name="journey_index"),
        *(path(f"journey-analytics/{page.slug}/", site.admin_view(page), name=f"journey_{page.slug}")
          for page in PAGES),
    ]
