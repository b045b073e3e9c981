"""Admin for applications, journey stages and segments; guides live in guide_admin."""
from django.conf import settings
from django.contrib import admin, messages
from django.http import JsonResponse
from django.urls import path
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from onboarding import rules
from onboarding.forms import ApplicationForm, JourneyStageForm, SegmentForm
from onboarding.install_tag import install_tag
from onboarding.models import Application, JourneyStage, Segment
from onboarding.services import application_config_changed, application_create, application_rotate_key

from onboarding import guide_admin  # noqa: F401  (registers the guide admins)

admin.site.site_header = "Wayline"
admin.site.site_title = "Wayline"
admin.site.index_title = "Onboarding, experiments and journey analytics"

SECRET_FIELDS = ("secret_key", "identity_secret")


class JourneyStageInline(admin.TabularInline):
    model = JourneyStage
    form = JourneyStageForm
    extra = 0
    fields = ["order", "slug", "name", "entry_rule", "description"]
    ordering = ["order"]


@admin.register(Application)
class ApplicationAdmin(admin.ModelAdmin):
    form = ApplicationForm
    list_display = ["name", "publishable_key", "require_identity_verification", "config_version", "created_at"]
    search_fields = ["name", "publishable_key"]
    inlines = [JourneyStageInline]
    actions = ["rotate_publishable_key", "rotate_secret_key", "rotate_identity_secret"]
    fieldsets = [
        (None, {"fields": ["name", "default_locale"]}),
        (
            "Keys and security",
            {
                "fields": [
                    "publishable_key",
                    "secret_key",
                    "identity_secret",
                    "allowed_origins",
                    "require_identity_verification",
                ]
            },
        ),
        ("Install", {"fields": ["install_tag"]}),
        (
            "Theme",
            {"fields": ["primary_color", "text_color", "background_color", "font_family", "border_radius"]},
        ),
        ("Throttle", {"fields": ["throttle_per_hour", "throttle_per_day"]}),
        ("Publishing", {"fields": ["config_version"]}),
    ]

    def get_readonly_fields(self, request, obj=None):
        return [
            "publishable_key",
            "secret_key",
            "identity_secret",
            "secret_key_masked",
            "identity_secret_masked",
            "install_tag",
            "config_version",
        ]

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []

    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return [(name, opts) for name, opts in self.fieldsets if name not in {"Install", "Publishing"}]
        if self.has_change_permission(request, obj):
            return self.fieldsets
        # Viewers read everything but the secrets, which they see masked.
        return [
            (name, {**opts, "fields": [f"{f}_masked" if f in SECRET_FIELDS else f for f in opts["fields"]]})
            for name, opts in self.fieldsets
        ]

    @admin.display(description="Secret key")
    def secret_key_masked(self, obj):
        return "•" * 12 + " (hidden; editors can see it)"

    @admin.display(description="Identity secret")
    def identity_secret_masked(self, obj):
        return "•" * 12 + " (hidden; editors can see it)"

    @admin.display(description="Install tag")
    def install_tag(self, obj):
        if obj is None or obj.pk is None:
            return "-"
        return format_html(
            "<p>Paste this before <code>&lt;/body&gt;</code> on every page of the product:</p>"
            '<textarea readonly rows="8" cols="100" class="wl-install-tag">{}</textarea>',
            install_tag(application=obj, api_host=settings.WAYLINE_PUBLIC_URL),
        )

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            application_config_changed(application_id=obj.pk)
            return
        fields = {f: form.cleaned_data[f] for f in form.cleaned_data if f not in {"name", "allowed_origins"}}
        created = application_create(
            name=form.cleaned_data["name"], allowed_origins=form.cleaned_data["allowed_origins"], **fields
        )
        obj.pk = created.pk
        obj.refresh_from_db()

    def _rotate(self, request, queryset, which, label):
        for application in queryset:
            application_rotate_key(application=application, which=which)
        self.message_user(request, f"Rotated the {label} of {queryset.count()} application(s).", messages.SUCCESS)

    @admin.action(description="Rotate the publishable key", permissions=["change"])
    def rotate_publishable_key(self, request, queryset):
        self._rotate(request, queryset, "publishable_key", "publishable key")

    @admin.action(description="Rotate the secret key", permissions=["change"])
    def rotate_secret_key(self, request, queryset):
        self._rotate(request, queryset, "secret_key", "secret key")

    @admin.action(description="Rotate the identity secret", permissions=["change"])
    def rotate_identity_secret(self, request, queryset):
        self._rotate(request, queryset, "identity_secret", "identity secret")


@admin.register(Segment)
class SegmentAdmin(admin.ModelAdmin):
    form = SegmentForm
    list_display = ["name", "application", "is_persona", "rule_summary", "updated_at"]
    list_filter = ["application", "is_persona"]
    search_fields = ["name", "slug", "description"]
    prepopulated_fields = {"slug": ["name"]}

    @admin.display(description="Rule")
    def rule_summary(self, obj):
        return rules.describe(obj.rule) if not rules.validate_rule(obj.rule) else "invalid rule"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        application_config_changed(application_id=obj.application_id)

    def get_urls(self):
        view = self.admin_site.admin_view(require_POST(rule_validate_view))
        return [path("rules/validate/", view, name="onboarding_rule_validate"), *super().get_urls()]


def rule_validate_view(request):
    """Live validation for the rule editor: errors and a plain-English reading of the rule."""
    import json

    try:
        text = request.body.decode("utf-8")
        rule = json.loads(text) if text.strip() else None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        return JsonResponse({"valid": False, "errors": [f"Not valid JSON: {error}"], "description": ""})
    errors = [str(error) for error in rules.validate_rule(rule)]
    description = rules.describe(rule) if rule is not None and not errors else ("everyone" if rule is None else "")
    return JsonResponse({"valid": not errors, "errors": errors, "description": description})
