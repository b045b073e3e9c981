"""Admin of end users (read-only) with the erase and export actions, and the erasure audit trail.

Erase and export need the ``analytics.erase_enduser`` / ``analytics.export_enduser`` permissions,
which the "Wayline editors" group has and "Wayline viewers" has not. Nobody edits or deletes an
end user through the admin's own forms: a plain delete would skip the audit and the hooks.
"""
import json

from django.contrib import admin, messages
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.template.response import TemplateResponse

from analytics.models import EndUser, EndUserErasure
from analytics.privacy import EndUserNotFound, end_user_erase, end_user_export


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows written by the product itself: shown in the admin, never edited there."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(EndUser)
class EndUserAdmin(ReadOnlyAdmin):
    list_display = ["__str__", "application", "stage", "first_seen_at", "last_seen_at"]
    list_filter = ["application"]
    search_fields = ["external_id"]
    list_select_related = ["application", "stage"]
    exclude = ["traits"]  # personal data stays out of list and detail pages; export shows it
    actions = ["erase_selected", "export_selected"]

    def has_erase_permission(self, request):
        return request.user.has_perm("analytics.erase_enduser")

    def has_export_permission(self, request):
        return request.user.has_perm("analytics.export_enduser")

    @admin.action(description="Erase the selected users and all their data", permissions=["erase"])
    def erase_selected(self, request, queryset):
        users = list(queryset.select_related("application").filter(external_id__isnull=False))
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Erase end users",
                "users": users,
                "skipped": queryset.filter(external_id__isnull=True).count(),
                "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            }
            return TemplateResponse(request, "analytics/admin/erase_confirmation.html", context)
        erased = 0
        for user in users:
            try:
                end_user_erase(application=user.application, external_id=user.external_id,
                               by=request.user.get_username(), via=EndUserErasure.Via.ADMIN)
            except EndUserNotFound:
                continue  # erased by someone else meanwhile
            erased += 1
        self.message_user(request, f"Erased {erased} user(s); see End user erasures for the record.", messages.SUCCESS)
        return None

    @admin.action(description="Export the selected users' data as JSON", permissions=["export"])
    def export_selected(self, request, queryset):
        exports = [
            end_user_export(application=user.application, external_id=user.external_id)
            for user in queryset.select_related("application").filter(external_id__isnull=False).order_by("pk")
        ]
        response = HttpResponse(json.dumps(exports, cls=DjangoJSONEncoder, indent=1), content_type="application/json")
        response["Content-Disposition"] = 'attachment; filename="wayline-user-export.json"'
        response["Cache-Control"] = "no-store"
        return response


@admin.register(EndUserErasure)
class EndUserErasureAdmin(ReadOnlyAdmin):
    list_display = ["erased_at", "application", "end_user_pk", "requested_by", "via", "total_rows"]
    list_filter = ["application", "via"]
    readonly_fields = ["application", "end_user_pk", "requested_by", "via", "rows_deleted", "total_rows", "erased_at"]
