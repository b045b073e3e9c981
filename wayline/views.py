"""Small project-level views."""
from django.http import HttpResponsePermanentRedirect
from django.templatetags.static import static


def favicon(request):
    # Resolved per request: with manifest storage the hashed name exists only after collectstatic.
    return HttpResponsePermanentRedirect(static("wayline/favicon.svg"))
