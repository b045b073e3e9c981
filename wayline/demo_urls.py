from django.urls import path, re_path

from wayline.demo_views import demo_app

app_name = "demo"
urlpatterns = [
    path("", demo_app, name="app"),
    # The demo is a single-page app: every sub-path renders the same shell.
    re_path(r"^(?P<section>[a-z-]+)/$", demo_app, name="section"),
]
