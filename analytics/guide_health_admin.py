"""Selector health on a tour's admin page, plugged in from analytics' admin side.

onboarding's guide page cannot import analytics (the dependency points the other way), so it
offers ``guide_admin.guide_health_notes`` and this module registers the note there.
"""
from django.utils.html import format_html_join
from django.utils.safestring import mark_safe

from analytics.guide_health import guide_selector_health_get, selector_health_lines
from onboarding import guide_admin


def selector_health_note(guide) -> str:
    lines = selector_health_lines(guide_selector_health_get(guide=guide))
    return format_html_join(mark_safe("<br>"), "{}", ((line,) for line in lines))


if selector_health_note not in guide_admin.guide_health_notes:
    guide_admin.guide_health_notes.append(selector_health_note)
