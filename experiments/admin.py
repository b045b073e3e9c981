"""Admin for experiments: design with inlines, start / stop / recompute / decide, plan and progress."""
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from analytics.privacy_admin import ReadOnlyAdmin
from experiments.forms import DecisionForm, DesignInlineFormSet, ExperimentForm, MetricForm, VariantForm, VariantFormSet
from experiments.models import Experiment, Exposure, Metric, ResultSnapshot, Variant
from experiments.planning import plan_progress
from experiments.selectors import exposure_counts, snapshot_latest
from experiments.services import (
    experiment_decide,
    experiment_design_errors,
    experiment_save,
    experiment_start,
    experiment_stop,
    metric_delete,
    metric_save,
    variant_delete,
    variant_save,
)
from experiments.tasks import experiment_recompute
from experiments.views import result_urls
from onboarding.models import Guide, GuideVersion, JourneyStage

DESIGN_READONLY = [
    "application", "kind", "stages", "segment", "traffic_share", "randomization_unit",
    "planned_baseline", "planned_mde", "alpha", "power", "sequential", "conversion_window_days",
]
STATUS_FIELDS = ["status", "started_at", "stopped_at", "readiness", "progress", "latest_results"]
DECISION_FIELDS = ["decision", "winning_variant", "decided_by", "decided_at", "decision_note"]


def design_open(request, obj) -> bool:
    """Design fields are editable on a draft — and kept in a POST from a page rendered as a draft,
    so that a change made after someone else started the experiment is refused with a reason."""
    if obj is None or obj.status == Experiment.Status.DRAFT:
        return True
    return request.method == "POST" and request.POST.get("design_status") == Experiment.Status.DRAFT


def parent_application_id(request) -> int | None:
    """The application of the experiment being edited (None on the add page), once per request."""
    if not hasattr(request, "_experiment_application_id"):
        match = request.resolver_match
        object_id = match.kwargs.get("object_id") if match else None
        request._experiment_application_id = (
            Experiment.objects.filter(pk=object_id).values_list("application_id", flat=True).first()
            if object_id and str(object_id).isdigit() else None
        )
    return request._experiment_application_id


class DesignInline(admin.TabularInline):
    extra = 0

    def get_readonly_fields(self, request, obj=None):
        return [] if design_open(request, obj) else list(self.form.Meta.fields)

    def has_add_permission(self, request, obj=None):
        return super().has_add_permission(request, obj) and design_open(request, obj)

    def has_delete_permission(self, request, obj=None):
        return super().has_delete_permission(request, obj) and design_open(request, obj)


class VariantInline(DesignInline):
    model = Variant
    form = VariantForm
    formset = VariantFormSet

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        application_id = parent_application_id(request)
        if application_id is not None and db_field.name == "guide":
            kwargs["queryset"] = Guide.objects.filter(application_id=application_id, archived_at__isnull=True)
        if application_id is not None and db_field.name == "guide_version":
            kwargs["queryset"] = GuideVersion.objects.filter(guide__application_id=application_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


class MetricInline(DesignInline):
    model = Metric
    form = MetricForm
    formset = DesignInlineFormSet

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        application_id = parent_application_id(request)
        if application_id is not None and db_field.name == "stage":
            kwargs["queryset"] = JourneyStage.objects.filter(application_id=application_id)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    form = ExperimentForm
    inlines = [VariantInline, MetricInline]
    list_display = ["name", "application", "kind", "status", "randomization_unit", "started_at", "exposed_users", "results_link"]
    list_filter = ["status", "kind", "randomization_unit", "application"]
    search_fields = ["name", "hypothesis"]
    actions = ["start_selected", "stop_selected", "recompute_selected", "decide_selected"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("application").annotate(exposed=Count("exposures"))

    def get_fieldsets(self, request, obj=None):
        fieldsets = [
            (None, {"fields": ["name", "application", "hypothesis", "kind", "design_status"]}),
            ("Who takes part", {"fields": ["stages", "segment", "traffic_share", "randomization_unit"]}),
            ("Planning and analysis", {"fields": [
                ("planned_baseline", "planned_mde"), ("alpha", "power"), "sequential", "conversion_window_days",
                "sample_size",
            ]}),
        ]
        if obj is not None:
            fieldsets.append(("Status", {"fields": STATUS_FIELDS}))
        if obj is not None and obj.status == Experiment.Status.DECIDED:
            fieldsets.append(("Decision", {"fields": DECISION_FIELDS}))
        return fieldsets

    def get_readonly_fields(self, request, obj=None):
        readonly = ["sample_size", *STATUS_FIELDS, *DECISION_FIELDS]
        if not design_open(request, obj):
            readonly += DESIGN_READONLY
        return readonly

    def has_run_permission(self, request, obj=None):
        return request.user.has_perm("experiments.run_experiment")

    def get_urls(self):
        return [*result_urls(self), *super().get_urls()]

    # --- read-only displays ------------------------------------------------------------------

    @admin.display(description="Results")
    def results_link(self, obj):
        return format_html('<a href="{}">View results</a>', reverse("admin:experiments_experiment_results", args=[obj.pk]))

    @admin.display(description="Exposed users", ordering="exposed")
    def exposed_users(self, obj):
        return obj.exposed

    @admin.display(description="Sample size")
    def sample_size(self, obj):
        if obj is None or obj.pk is None:
            return "Save the experiment with its variants and a primary metric to see the sample size it needs."
        return plan_progress(obj, list(obj.variants.all()), list(obj.metrics.all()), users_per_variant=[]).sentence

    @admin.display(description="Ready to start?")
    def readiness(self, obj):
        if obj.status != Experiment.Status.DRAFT:
            return "Started."
        errors = experiment_design_errors(obj)
        if not errors:
            return "Ready: use the action “Start the selected experiments”."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((e,) for e in errors)))

    @admin.display(description="Progress")
    def progress(self, obj):
        if obj.status == Experiment.Status.DRAFT:
            return "Not started."
        variants = list(obj.variants.order_by("-is_control", "id"))
        counts = exposure_counts(experiment=obj)
        users = [counts.get(v.id, 0) for v in variants]
        plan = plan_progress(obj, variants, list(obj.metrics.all()), users_per_variant=users)
        split = ", ".join(f"{v.name}: {n:,}" for v, n in zip(variants, users, strict=True))
        if not plan.planned_users_per_variant:
            return f"Exposed users — {split}."
        detectable = ""
        if plan.detectable_now is not None:
            unit = f"{plan.detectable_now * 100:.1f} pp" if plan.binary else f"{plan.detectable_now:.2f} per user"
            detectable = f" With these users it can detect a change of {unit}."
        return (
            f"Exposed users — {split}. {plan.users_per_variant_min:,} of {plan.planned_users_per_variant:,} planned "
            f"per variant ({(plan.progress or 0) * 100:.0f} %).{detectable}"
        )

    @admin.display(description="Latest results")
    def latest_results(self, obj):
        snapshot = snapshot_latest(experiment=obj)
        if snapshot is None:
            return "Not computed yet: use the action “Recompute results now”."
        return format_html(
            "{}<br><small>Computed {} UTC by {}.</small>",
            snapshot.outputs.get("verdict", ""), snapshot.computed_at.strftime("%Y-%m-%d %H:%M"), snapshot.code_version,
        )

    # --- saving through the services ---------------------------------------------------------

    def save_model(self, request, obj, form, change):
        experiment_save(experiment=obj)

    def save_formset(self, request, form, formset, change):
        saves = {Variant: variant_save, Metric: metric_save}
        deletes = {Variant: variant_delete, Metric: metric_delete}
        instances = formset.save(commit=False)
        for instance in formset.deleted_objects:
            deletes[type(instance)](**{type(instance).__name__.lower(): instance})
        for instance in instances:
            saves[type(instance)](**{type(instance).__name__.lower(): instance})

    # --- actions -----------------------------------------------------------------------------

    @admin.action(description="Start the selected experiments", permissions=["run"])
    def start_selected(self, request, queryset):
        for experiment in queryset:
            try:
                experiment_start(experiment=experiment, by=request.user)
            except ValidationError as error:
                self.message_user(request, f"{experiment} did not start: {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"Started {experiment}.", messages.SUCCESS)

    @admin.action(description="Stop the selected experiments", permissions=["run"])
    def stop_selected(self, request, queryset):
        for experiment in queryset:
            try:
                experiment_stop(experiment=experiment, by=request.user)
            except ValidationError as error:
                self.message_user(request, f"{experiment} was not stopped: {' '.join(error.messages)}", messages.ERROR)
            else:
                self.message_user(request, f"Stopped {experiment}; everyone sees the control until you decide.")

    @admin.action(description="Recompute results now", permissions=["run"])
    def recompute_selected(self, request, queryset):
        for experiment in queryset:
            experiment_recompute.delay(experiment.id)
        self.message_user(request, f"Recomputing the results of {queryset.count()} experiment(s).", messages.SUCCESS)

    @admin.action(description="Decide the selected experiment (ship a variant or stop)…", permissions=["run"])
    def decide_selected(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, "Decide one experiment at a time.", messages.ERROR)
            return None
        experiment = queryset.get()
        form = DecisionForm(request.POST if "apply" in request.POST else None, experiment=experiment)
        if form.is_bound and form.is_valid():
            try:
                experiment_decide(
                    experiment=experiment, by=request.user, decision=form.cleaned_data["decision"],
                    note=form.cleaned_data["note"], winning_variant=form.cleaned_data["winning_variant"],
                    apply_to_guides=form.cleaned_data["apply_to_guides"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(request, f"Recorded the decision on {experiment}.", messages.SUCCESS)
                return None
        snapshot = snapshot_latest(experiment=experiment)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Decide: {experiment}",
            "experiment": experiment,
            "form": form,
            "verdict": snapshot.outputs.get("verdict") if snapshot else None,
            "computed_at": snapshot.computed_at if snapshot else None,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "experiments/decide.html", context)


@admin.register(Exposure)
class ExposureAdmin(ReadOnlyAdmin):
    list_display = ["experiment", "variant", "user", "unit_id", "exposed_at"]
    list_filter = ["experiment"]
    search_fields = ["user__external_id", "unit_id"]
    list_select_related = ["experiment", "variant", "user"]


@admin.register(ResultSnapshot)
class ResultSnapshotAdmin(ReadOnlyAdmin):
    list_display = ["experiment", "computed_at", "code_version"]
    list_filter = ["experiment"]
    list_select_related = ["experiment"]
