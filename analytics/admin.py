"""Admin hooks of the analytics app.

# --- Journey analytics pages ----------------------------------------------------------------
The report pages are plain views under the admin (its login, header and permissions), added to
the default site's URLs rather than a custom ``AdminSite`` so every app keeps registering with
``admin.site``.
"""
from django.contrib import admin

from analytics import guide_health_admin  # noqa: F401  (selector health on the tour's admin page)
from analytics import privacy_admin  # noqa: F401  (registers the end-user admins)
from analytics.views.pages import journey_urls

_site_urls = admin.site.get_urls


def _get_urls_with_journey_pages():
    return [*journey_urls(admin.site), *_site_urls()]


admin.site.get_urls = _get_urls_with_journey_pages
