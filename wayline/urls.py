"""URL map: the admin site, the public API and its schema, the demo host page."""
from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from wayline.views import favicon

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="admin:index", permanent=False)),
    path("admin/", admin.site.urls),
    path("api/v1/", include("analytics.api.urls")),
    path("api/v1/", include("analytics.api.content_urls")),
    path("api/v1/reports/", include("analytics.api.report_urls")),
    path("api/v1/experiments/", include("experiments.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("demo/", include("wayline.demo_urls")),
    # Browsers ask for /favicon.ico on every page; answer instead of logging a 404 in their console.
    path("favicon.ico", favicon),
]
