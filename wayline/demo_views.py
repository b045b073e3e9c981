"""The demo host page: a small SaaS app ("Chatterbox") that embeds the Wayline snippet."""
from django.http import Http404
from django.shortcuts import render

from onboarding.install_tag import install_tag
from onboarding.models import Application

DEMO_APPLICATION_NAME = "Chatterbox (demo)"
SECTIONS = ("dashboard", "inbox", "widget", "integrations", "reports", "settings")


def demo_app(request, section: str = "dashboard"):
    if section not in SECTIONS:
        raise Http404("No such page in the demo app.")
    key = request.GET.get("app")
    applications = Application.objects.all()
    application = (
        applications.filter(publishable_key=key).first()
        if key
        else applications.filter(name=DEMO_APPLICATION_NAME).first() or applications.first()
    )
    # The demo is served by this Wayline, so the snippet talks to the host it came from.
    api_host = request.build_absolute_uri("/").rstrip("/")
    context = {
        "application": application,
        "install_tag": install_tag(application=application, api_host=api_host) if application else "",
        "section": section,
        "sections": SECTIONS,
        "user_id": request.GET.get("user", "demo-user-1"),
        "persona": request.GET.get("persona", "non_technical_manager"),
    }
    response = render(request, "demo/app.html", context)
    # Like most customer apps, the demo keeps its opener: the visual builder, opened from the
    # admin in a popup, posts picked selectors back to it (Django's default "same-origin" would not).
    response["Cross-Origin-Opener-Policy"] = "unsafe-none"
    return response
