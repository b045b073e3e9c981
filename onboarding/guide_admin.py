"""Admin for the four guide kinds: drafts, inlines, publishing actions, live diff and preview."""
import json
from collections.abc import Callable
from functools import partial
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from onboarding.builder_admin import builder_config, builder_link_view, builder_pick_view
from onboarding.forms import GuideForm, GuideUrlRuleForm
from onboarding.models import (
    BarButton,
    BarGuide,
    ChecklistGuide,
    ChecklistItem,
    Guide,
    GuideUrlRule,
    SurveyGuide,
    TourGuide,
    TourStep,
)
from onboarding.preview import preview_token_make
from onboarding.selectors import guide_draft_diff, guide_has_unpublished_changes
from onboarding.services import guide_archive, guide_duplicate, guide_publish, guide_unpublish


class UrlRuleInline(admin.TabularInline):
    model = GuideUrlRule
    form = GuideUrlRuleForm
    extra = 0
    verbose_name = "page-URL rule"
    verbose_name_plural = "Page-URL rules (none = every page)"


class TourStepInline(admin.StackedInline):
    model = TourStep
    extra = 0
    fields = [
        ("order", "selector"), "selector_label", "title", "body", ("placement", "advance", "advance_event"),
        ("wait_timeout_ms", "modal"),
    ]


class ChecklistItemInline(admin.StackedInline):
    model = ChecklistItem
    fk_name = "guide"
    extra = 0
    fields = [
        ("order", "title"),
        "description",
        ("completion", "completion_event", "completion_tour", "completion_url"),
        ("cta_label", "cta_action", "cta_url", "cta_tour"),
    ]


class BarButtonInline(admin.TabularInline):
    model = BarButton
    fk_name = "guide"
    extra = 0
    max_num = 2
    fields = ["order", "label", "action", "url", "tour"]


class StatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(self, request, model_admin):
        return [("live", "Live"), ("draft", "Never published / unpublished"), ("archived", "Archived")]

    def queryset(self, request, queryset):
        if self.value() == "live":
            return queryset.filter(live_version__isnull=False)
        if self.value() == "draft":
            return queryset.filter(live_version__isnull=True, archived_at__isnull=True)
        if self.value() == "archived":
            return queryset.filter(archived_at__isnull=False)
        return queryset


TARGETING = (
    "Targeting",
    {
        "fields": ["stages", "segment", "device", ("starts_at", "ends_at")],
        "description": "Who sees it, where and when. Page-URL rules are below.",
    },
)
BEHAVIOUR = (
    "Trigger and frequency",
    {"fields": [("trigger", "trigger_selector", "trigger_event"), ("frequency", "max_times"), "priority", "goal_event"]},
)
STATUS = ("Publishing", {"fields": ["status", "live_summary", "preview_link"]})

# Read-only notes about a guide that apps above onboarding compute (analytics: how often a tour's
# targets are not found), registered by those apps so that onboarding never imports them.
guide_health_notes: list[Callable[[Guide], str]] = []


class GuideAdminBase(admin.ModelAdmin):
    """Shared by every guide kind; subclasses name the kind, its fields and inlines."""

    kind: str
    form = GuideForm
    change_form_template = "onboarding/guide_change_form.html"
    list_display = ["name", "application", "status", "priority", "stage_list", "updated_at"]
    list_filter = [StatusFilter, "application", "stages", "device", "trigger"]
    search_fields = ["name", "description", "goal_event"]
    readonly_fields = ["status", "live_summary", "preview_link"]
    actions = ["publish_selected", "unpublish_selected", "duplicate_selected", "archive_selected"]
    content_fieldset: tuple = ()

    def get_fieldsets(self, request, obj=None):
        return [(None, {"fields": ["application", "name", "description"]}), self.content_fieldset, TARGETING, BEHAVIOUR, STATUS]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(kind=self.kind)
            .select_related("application", "live_version")
            .prefetch_related("stages")
        )

    def save_model(self, request, obj, form, change):
        obj.kind = self.kind
        super().save_model(request, obj, form, change)

    def has_publish_permission(self, request, obj=None):
        return request.user.has_perm("onboarding.publish_guide")

    @admin.display(description="Status")
    def status(self, obj):
        if obj is None or obj.pk is None:
            return "New draft"
        if obj.archived_at:
            return "Archived"
        if obj.live_version_id is None:
            return "Draft (not live)"
        if guide_has_unpublished_changes(obj):
            return f"Live v{obj.live_version.number}, draft has unpublished changes"
        return f"Live v{obj.live_version.number}"

    @admin.display(description="Stages")
    def stage_list(self, obj):
        return ", ".join(stage.name for stage in obj.stages.all()) or "any"

    @admin.display(description="Live version")
    def live_summary(self, obj):
        if obj is None or obj.live_version is None:
            return "Nothing live."
        version = obj.live_version
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_published", args=[obj.pk])
        who = version.published_by.get_username() if version.published_by else "system"
        return format_html(
            'v{} published {} by {} — <a href="{}">view it and its diff against the draft</a>',
            version.number, version.published_at.strftime("%Y-%m-%d %H:%M"), who, url,
        )

    @admin.display(description="Preview")
    def preview_link(self, obj):
        if obj is None or obj.pk is None:
            return "Save the guide to preview it."
        url = reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_preview", args=[obj.pk])
        return format_html('<a href="{}" target="_blank" rel="noopener">Preview the draft on the demo page</a>', url)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/published/", wrap(self.published_view), name="%s_%s_published" % info),
            path("<int:pk>/preview/", wrap(self.preview_view), name="%s_%s_preview" % info),
            path("<int:pk>/publish/", wrap(require_POST(self.publish_view)), name="%s_%s_publish" % info),
            path(
                "builder/link/", wrap(require_POST(partial(builder_link_view, model_admin=self))),
                name="%s_%s_builder_link" % info,
            ),
            path(
                "builder/picks/<str:nonce>/", wrap(partial(builder_pick_view, model_admin=self)),
                name="%s_%s_builder_pick" % info,
            ),
            *super().get_urls(),
        ]

    def _guide(self, request, pk):
        guide = get_object_or_404(self.get_queryset(request), pk=pk)
        if not self.has_view_permission(request, guide):
            raise PermissionDenied
        return guide

    def published_view(self, request, pk):
        guide = self._guide(request, pk)
        live = guide.live_version.payload if guide.live_version else None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "guide": guide,
            "title": f"Live version of {guide}",
            "live_json": json.dumps(live, indent=2, sort_keys=True, ensure_ascii=False) if live else None,
            "diff_lines": guide_draft_diff(guide),
            "versions": guide.versions.select_related("published_by")[:20],
        }
        return TemplateResponse(request, "onboarding/guide_published.html", context)

    def preview_view(self, request, pk):
        guide = self._guide(request, pk)
        token = preview_token_make(guide_id=guide.pk, application_id=guide.application_id, user_id=request.user.pk)
        query = urlencode({"app": guide.application.publishable_key, "wayline_preview": token})
        return HttpResponseRedirect(f"{settings.WAYLINE_PUBLIC_URL}/demo/?{query}")

    def publish_view(self, request, pk):
        guide = self._guide(request, pk)
        if not self.has_publish_permission(request):
            raise PermissionDenied
        self._publish(request, guide)
        return HttpResponseRedirect(reverse(f"admin:{self.opts.app_label}_{self.opts.model_name}_change", args=[pk]))

    def _publish(self, request, guide) -> bool:
        try:
            version = guide_publish(guide=guide, by=request.user)
        except ValidationError as error:
            self.message_user(request, f"{guide} was not published: {' '.join(error.messages)}", messages.ERROR)
            return False
        self.message_user(request, f"Published {guide} as v{version.number}.", messages.SUCCESS)
        return True

    @admin.action(description="Publish the selected guides", permissions=["publish"])
    def publish_selected(self, request, queryset):
        for guide in queryset:
            self._publish(request, guide)

    @admin.action(description="Unpublish the selected guides", permissions=["publish"])
    def unpublish_selected(self, request, queryset):
        for guide in queryset:
            guide_unpublish(guide=guide, by=request.user)
        self.message_user(request, f"Unpublished {queryset.count()} guide(s).", messages.SUCCESS)

    @admin.action(description="Archive the selected guides", permissions=["publish"])
    def archive_selected(self, request, queryset):
        for guide in queryset:
            guide_archive(guide=guide, by=request.user)
        self.message_user(request, f"Archived {queryset.count()} guide(s).", messages.SUCCESS)

    @admin.action(description="Duplicate the selected guides as drafts", permissions=["add"])
    def duplicate_selected(self, request, queryset):
        for guide in queryset:
            guide_duplicate(guide=guide)
        self.message_user(request, f"Duplicated {queryset.count()} guide(s).", messages.SUCCESS)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        context["can_publish"] = obj is not None and self.has_publish_permission(request)
        context["builder_config"] = builder_config(model_admin=self, guide=obj)
        response = super().render_change_form(request, context, add, change, form_url, obj)
        # The builder opens the PM's app in a popup and posts the picked selector back to this
        # window: the default "same-origin" policy would cut that popup off from its opener.
        response["Cross-Origin-Opener-Policy"] = "same-origin-allow-popups"
        return response


@admin.register(TourGuide)
class TourAdmin(GuideAdminBase):
    kind = Guide.Kind.TOUR
    content_fieldset = ("Tour", {"fields": ["on_missing_target", "selector_health"]})
    inlines = [TourStepInline, UrlRuleInline]
    readonly_fields = [*GuideAdminBase.readonly_fields, "selector_health"]

    @admin.display(description="Selector health")
    def selector_health(self, obj):
        if obj is None or obj.pk is None or not guide_health_notes:
            return "Shown once the tour is live and users have seen it."
        return format_html_join(mark_safe("<br>"), "{}", ((note(obj),) for note in guide_health_notes))


@admin.register(ChecklistGuide)
class ChecklistAdmin(GuideAdminBase):
    kind = Guide.Kind.CHECKLIST
    content_fieldset = ("Checklist", {"fields": ["checklist_title", "dismissible"]})
    inlines = [ChecklistItemInline, UrlRuleInline]


@admin.register(BarGuide)
class BarAdmin(GuideAdminBase):
    kind = Guide.Kind.BAR
    content_fieldset = (
        "Notification bar",
        {"fields": ["bar_message", ("bar_position", "bar_style"), ("bar_push_content", "dismissible")]},
    )
    inlines = [BarButtonInline, UrlRuleInline]


@admin.register(SurveyGuide)
class SurveyAdmin(GuideAdminBase):
    kind = Guide.Kind.SURVEY
    content_fieldset = (
        "Survey",
        {"fields": ["survey_kind", "survey_question", "survey_follow_up_question", "survey_thank_you"]},
    )
    inlines = [UrlRuleInline]
