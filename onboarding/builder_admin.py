"""The admin's half of the visual builder: builder links, and what the change form's script needs.

``builder_link_view`` answers the change form's "Pick on page" and "Preview on page" buttons with
the PM's page URL plus a fresh builder token. It is a POST (CSRF-checked) that needs the right to
change guides; bad input is a 400 with a sentence the form shows next to the button.
"""
from urllib.parse import urlencode, urlsplit

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import JsonResponse
from django.urls import reverse

from onboarding.builder import builder_link_make, builder_pick_take
from onboarding.models import Application, Guide

MAX_PAGE_URL = 2000


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def builder_link_view(request, model_admin):
    """POST mode=pick|preview, url, application[, guide, nonce] → {"url", "origin"} or {"error"}."""
    if not model_admin.has_change_permission(request) and not model_admin.has_add_permission(request):
        raise PermissionDenied
    data = request.POST
    mode = data.get("mode", "")
    page_url = data.get("url", "").strip()
    nonce = data.get("nonce", "")[:64]
    if mode not in ("pick", "preview"):
        return JsonResponse({"error": "mode must be pick or preview."}, status=400)
    if not page_url or len(page_url) > MAX_PAGE_URL:
        return JsonResponse({"error": "Give the address of the page to build on."}, status=400)
    application = _by_id(Application.objects.all(), data.get("application"))
    if application is None:
        return JsonResponse({"error": "Choose the guide's application first."}, status=400)
    guide = _by_id(Guide.objects.filter(application=application), data.get("guide"))
    if data.get("guide") and guide is None:
        return JsonResponse({"error": "This guide belongs to another application; save it first."}, status=400)
    try:
        url = builder_link_make(
            page_url=page_url, application=application, user=request.user, mode=mode,
            admin_origin=_origin(request.build_absolute_uri("/")), guide=guide, nonce=nonce,
        )
    except ValueError as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse({"url": url, "origin": _origin(url)})


def builder_pick_view(request, model_admin, nonce: str):
    """GET → {"pick": {selector, label, strategy, fragility} | null}: what the builder stored for
    this user's link with ``nonce``, handed out once. Polled while a pick window is open."""
    if not model_admin.has_change_permission(request) and not model_admin.has_add_permission(request):
        raise PermissionDenied
    return JsonResponse({"pick": builder_pick_take(user=request.user, nonce=nonce[:64])},
                        headers={"Cache-Control": "no-store"})


def _by_id(queryset, value):
    return queryset.filter(pk=int(value)).first() if value and str(value).isdigit() else None


def builder_config(*, model_admin, guide: Guide | None) -> dict:
    """For the change form's script: where to ask for links, and a default page per application."""
    info = model_admin.opts.app_label, model_admin.opts.model_name
    demo = settings.WAYLINE_PUBLIC_URL + reverse("demo:app")
    return {
        "link_url": reverse("admin:%s_%s_builder_link" % info),
        "pick_url": reverse("admin:%s_%s_builder_pick" % info, args=["NONCE"]),
        "guide_id": guide.pk if guide is not None and guide.pk else None,
        "preview": guide is not None and guide.pk is not None and guide.kind == Guide.Kind.TOUR,
        "default_pages": {
            str(pk): f"{demo}?{urlencode({'app': key})}"
            for pk, key in Application.objects.values_list("pk", "publishable_key")
        },
    }
