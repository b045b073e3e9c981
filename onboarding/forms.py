"""Admin form fields for rules and origins: bad input becomes a located form error, never a 500."""
import json
from urllib.parse import urlsplit

from django import forms
from django.urls import reverse_lazy

from onboarding import rules
from onboarding.models import Application, Guide, GuideUrlRule, JourneyStage, Segment
from onboarding.url_match import validate_url_rule


class RuleWidget(forms.Textarea):
    """A JSON editor with examples and live validation against the rule language."""

    template_name = "onboarding/widgets/rule_editor.html"

    def __init__(self, attrs=None):
        super().__init__(attrs={"rows": 6, "cols": 80, "class": "wl-rule-input", "spellcheck": "false", **(attrs or {})})

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["widget"]["examples"] = [
            {"name": label, "json": json.dumps(rule, indent=2)} for label, rule in rules.EXAMPLES.items()
        ]
        context["widget"]["validate_url"] = reverse_lazy("admin:onboarding_rule_validate")
        return context

    def format_value(self, value):
        if value in (None, "", "null"):
            return ""
        if isinstance(value, str):
            try:
                value = json.loads(value)
            except json.JSONDecodeError:
                return value
        return json.dumps(value, indent=2, ensure_ascii=False)

    class Media:
        js = ["onboarding/rule_editor.js"]
        css = {"all": ["onboarding/admin.css"]}


class RuleField(forms.JSONField):
    """A rule tree; empty means 'no condition'. Errors name the exact place that is wrong."""

    widget = RuleWidget

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("required", False)
        kwargs.setdefault(
            "help_text",
            'JSON rule, e.g. {"all": [{"trait": "persona", "op": "eq", "value": "founder"}]}. Leave empty for everyone.',
        )
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            try:
                json.loads(value) if value.strip() else None
            except json.JSONDecodeError as error:
                raise forms.ValidationError(
                    f"Not valid JSON at line {error.lineno}, column {error.colno}: {error.msg}.", code="invalid"
                ) from error
        return super().to_python(value)

    def validate(self, value):
        super().validate(value)
        if value in (None, ""):
            return
        errors = rules.validate_rule(value)
        if errors:
            raise forms.ValidationError([str(error) for error in errors], code="invalid_rule")


def rule_errors_for_application(rule, application: Application | None) -> list[str]:
    """Errors that need the application's stages (unknown stage slugs)."""
    if rule in (None, "") or application is None:
        return []
    known = set(application.stages.values_list("slug", flat=True))
    return [str(error) for error in rules.validate_rule(rule, known_stages=known)]


class OriginListField(forms.CharField):
    """One origin per line (scheme://host[:port]); stored as a list."""

    widget = forms.Textarea(attrs={"rows": 3, "cols": 60})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(value)
        return value

    def to_python(self, value):
        text = super().to_python(value) or ""
        origins, errors = [], []
        for number, line in enumerate(text.splitlines(), start=1):
            origin = line.strip().rstrip("/")
            if not origin:
                continue
            parts = urlsplit(origin)
            if parts.scheme not in {"http", "https"} or not parts.netloc or parts.path or parts.query:
                errors.append(f"Line {number}: {line.strip()!r} is not an origin; write it like https://app.example.com")
                continue
            origins.append(f"{parts.scheme}://{parts.netloc.lower()}")
        if errors:
            raise forms.ValidationError(errors)
        return sorted(set(origins))


class ApplicationForm(forms.ModelForm):
    allowed_origins = OriginListField(
        required=False, help_text="One per line, e.g. https://app.example.com. Browsers on other origins are refused."
    )

    class Meta:
        model = Application
        fields = "__all__"


class JourneyStageForm(forms.ModelForm):
    entry_rule = RuleField(label="Entry rule")

    class Meta:
        model = JourneyStage
        fields = "__all__"


class SegmentForm(forms.ModelForm):
    rule = RuleField(required=True, help_text="Who belongs to this segment.")

    class Meta:
        model = Segment
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        for error in rule_errors_for_application(cleaned.get("rule"), cleaned.get("application")):
            self.add_error("rule", error)
        return cleaned


class GuideForm(forms.ModelForm):
    class Meta:
        model = Guide
        exclude = ["kind"]
        widgets = {
            "stages": forms.CheckboxSelectMultiple,
            "bar_message": forms.Textarea(attrs={"rows": 3}),
            "description": forms.Textarea(attrs={"rows": 2}),
        }

    def clean(self):
        cleaned = super().clean()
        application = cleaned.get("application")
        if application is not None:
            foreign = [stage.name for stage in cleaned.get("stages") or [] if stage.application_id != application.id]
            if foreign:
                self.add_error("stages", f"These stages belong to another application: {', '.join(foreign)}.")
            segment = cleaned.get("segment")
            if segment is not None and segment.application_id != application.id:
                self.add_error("segment", "This segment belongs to another application.")
        if cleaned.get("trigger") == Guide.Trigger.ELEMENT and not cleaned.get("trigger_selector"):
            self.add_error("trigger_selector", "Give the CSS selector of the element that triggers the guide.")
        if cleaned.get("trigger") == Guide.Trigger.EVENT and not cleaned.get("trigger_event"):
            self.add_error("trigger_event", "Give the event name that triggers the guide.")
        if cleaned.get("frequency") == Guide.Frequency.MAX_TIMES and not cleaned.get("max_times"):
            self.add_error("max_times", "Say how many times at most.")
        starts, ends = cleaned.get("starts_at"), cleaned.get("ends_at")
        if starts and ends and ends <= starts:
            self.add_error("ends_at", "The end must come after the start.")
        return cleaned


class GuideUrlRuleForm(forms.ModelForm):
    class Meta:
        model = GuideUrlRule
        fields = "__all__"

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("match_type") and cleaned.get("pattern"):
            for error in validate_url_rule(cleaned["match_type"], cleaned["pattern"]):
                self.add_error("pattern", error)
        return cleaned
