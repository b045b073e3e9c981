"""Admin forms for experiments: design frozen after start, per-kind metric checks, the decision."""
from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import BaseInlineFormSet

from experiments.models import Experiment, Metric, Variant
from experiments.services import DESIGN_FIELDS, design_frozen_message, metric_errors

DESIGN_FORM_FIELDS = tuple(name.removesuffix("_id") for name in DESIGN_FIELDS) + ("stages",)


def _current(experiment: Experiment | None) -> Experiment | None:
    """The experiment as the database has it now (someone may have started it meanwhile)."""
    if experiment is None or experiment.pk is None:
        return None
    return Experiment.objects.filter(pk=experiment.pk).first()


class ExperimentForm(forms.ModelForm):
    # The status the page was rendered with: tells a stale draft page apart from a fresh one.
    design_status = forms.CharField(widget=forms.HiddenInput, required=False)

    class Meta:
        model = Experiment
        fields = "__all__"
        widgets = {"stages": forms.CheckboxSelectMultiple, "hypothesis": forms.Textarea(attrs={"rows": 3})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["design_status"].initial = self.instance.status if self.instance.pk else Experiment.Status.DRAFT

    def clean(self):
        cleaned = super().clean()
        current = _current(self.instance)
        if current is not None and current.status != Experiment.Status.DRAFT:
            for name in DESIGN_FORM_FIELDS:
                if name in self.changed_data:
                    self.add_error(name if name in self.fields else None, design_frozen_message(current))
        application = cleaned.get("application")
        if application is not None:
            if any(stage.application_id != application.id for stage in cleaned.get("stages") or ()):
                self.add_error("stages", "These stages belong to another application.")
            segment = cleaned.get("segment")
            if segment is not None and segment.application_id != application.id:
                self.add_error("segment", "This segment belongs to another application.")
        return cleaned


class DesignInlineFormSet(BaseInlineFormSet):
    """Variants and metrics: any change once the experiment has started is refused with a reason."""

    def clean(self):
        super().clean()
        current = _current(self.instance)
        if current is not None and current.status != Experiment.Status.DRAFT and self.has_changed():
            raise ValidationError(design_frozen_message(current), code="design_frozen")


class VariantFormSet(DesignInlineFormSet):
    def clean(self):
        super().clean()
        kept = [form for form in self.forms if form.cleaned_data and not form.cleaned_data.get("DELETE")]
        if sum(1 for form in kept if form.cleaned_data.get("is_control")) > 1:
            raise ValidationError("Only one variant can be the control.")
        guides = [form.cleaned_data["guide"].pk for form in kept if form.cleaned_data.get("guide")]
        if len(guides) != len(set(guides)):
            raise ValidationError("Two variants show the same guide; every variant needs its own.")


class VariantForm(forms.ModelForm):
    class Meta:
        model = Variant
        fields = ["key", "name", "weight", "is_control", "guide", "guide_version"]

    def clean(self):
        cleaned = super().clean()
        guide, version = cleaned.get("guide"), cleaned.get("guide_version")
        if version is not None and (guide is None or version.guide_id != guide.pk):
            self.add_error("guide_version", "Pin a version of the variant's own guide.")
        return cleaned


class MetricForm(forms.ModelForm):
    class Meta:
        model = Metric
        fields = ["name", "kind", "role", "direction", "event_name", "stage", "window_days", "week_number"]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        probe = Metric(**{name: cleaned.get(name) for name in self.Meta.fields})
        for error in metric_errors(probe):
            self.add_error(None, error)
        return cleaned


class DecisionForm(forms.Form):
    decision = forms.ChoiceField(choices=Experiment.Decision.choices, widget=forms.RadioSelect)
    winning_variant = forms.ModelChoiceField(
        queryset=Variant.objects.none(), required=False, help_text="The variant to ship."
    )
    apply_to_guides = forms.BooleanField(
        required=False,
        label="Make it live",
        help_text="Ship: publish the winner's guide if it is not live and unpublish the other variants' guides. "
        "Stop: unpublish every guide but the control's.",
    )
    note = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 4, "cols": 80}),
        help_text="Why: the evidence and the reasoning, for whoever reads this later.",
    )

    def __init__(self, *args, experiment: Experiment, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["winning_variant"].queryset = experiment.variants.order_by("-is_control", "id")

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("decision") == Experiment.Decision.SHIP and not cleaned.get("winning_variant"):
            self.add_error("winning_variant", "Choose the variant to ship.")
        return cleaned
