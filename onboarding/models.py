"""What product managers configure: applications, journey stages, segments and guides."""
from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models

from onboarding import keys
from onboarding.fields import SanitizedHTMLField

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a colour like #4f46e5.")


class Application(models.Model):
    """One customer product; production and staging are two applications."""

    name = models.CharField(max_length=120)
    publishable_key = models.CharField(max_length=64, unique=True, default=keys.new_publishable_key, editable=False)
    secret_key = models.CharField(max_length=96, unique=True, default=keys.new_secret_key, editable=False)
    identity_secret = models.CharField(max_length=96, default=keys.new_identity_secret, editable=False)
    allowed_origins = models.JSONField(
        default=list,
        blank=True,
        help_text="Origins allowed to call the public API from a browser, e.g. https://app.example.com.",
    )
    require_identity_verification = models.BooleanField(
        default=False,
        help_text="Identified users must carry user_hash = HMAC-SHA256(identity secret, user id).",
    )
    primary_color = models.CharField(max_length=7, default="#4f46e5", validators=[hex_colour])
    text_color = models.CharField(max_length=7, default="#111827", validators=[hex_colour])
    background_color = models.CharField(max_length=7, default="#ffffff", validators=[hex_colour])
    font_family = models.CharField(max_length=200, default="system-ui, -apple-system, 'Segoe UI', sans-serif")
    border_radius = models.PositiveSmallIntegerField(default=8, validators=[MaxValueValidator(32)])
    default_locale = models.CharField(max_length=10, default="en")
    throttle_per_hour = models.PositiveSmallIntegerField(
        default=2, help_text="At most this many automatically triggered guides per user per hour (0 = no limit)."
    )
    throttle_per_day = models.PositiveSmallIntegerField(
        default=5, help_text="At most this many automatically triggered guides per user per day (0 = no limit)."
    )
    config_version = models.PositiveIntegerField(
        default=1, editable=False, help_text="Changes whenever a guide is published or unpublished."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def theme(self) -> dict:
        return {
            "primary_color": self.primary_color,
            "text_color": self.text_color,
            "background_color": self.background_color,
            "font_family": self.font_family,
            "border_radius": self.border_radius,
        }


class JourneyStage(models.Model):
    """An ordered customer-journey stage; a user is at the furthest stage whose rule holds."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField()
    slug = models.SlugField(max_length=40)
    name = models.CharField(max_length=80)
    description = models.TextField(blank=True)
    entry_rule = models.JSONField(
        null=True, blank=True, help_text="Rule a user must satisfy to be in this stage; empty means everyone."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["application", "order"]
        constraints = [
            models.UniqueConstraint(fields=["application", "slug"], name="stage_unique_slug"),
            models.UniqueConstraint(fields=["application", "order"], name="stage_unique_order"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"


class Segment(models.Model):
    """A rule over user and account traits and behaviour, for personas and targeting."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="segments")
    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60)
    description = models.TextField(blank=True)
    is_persona = models.BooleanField(default=False, help_text="Show this segment as a persona in analytics.")
    rule = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["application", "name"]
        constraints = [models.UniqueConstraint(fields=["application", "slug"], name="segment_unique_slug")]

    def __str__(self) -> str:
        return self.name


class Guide(models.Model):
    """A piece of guidance a PM authors. The row is the draft; publishing freezes a GuideVersion."""

    class Kind(models.TextChoices):
        TOUR = "tour", "Tooltip tour"
        CHECKLIST = "checklist", "Checklist"
        BAR = "bar", "Notification bar"
        SURVEY = "survey", "Survey"

    class Device(models.TextChoices):
        ANY = "any", "Any device"
        DESKTOP = "desktop", "Desktop"
        MOBILE = "mobile", "Mobile"

    class Trigger(models.TextChoices):
        PAGE_LOAD = "page_load", "When the page loads"
        ELEMENT = "element", "When an element appears"
        EVENT = "event", "When an event happens"
        MANUAL = "manual", "Manually, from the snippet API"

    class Frequency(models.TextChoices):
        ONCE = "once", "Once"
        UNTIL_DONE = "until_done", "Until completed or dismissed"
        EVERY_SESSION = "every_session", "Every session"
        MAX_TIMES = "max_times", "At most N times"

    class MissingTarget(models.TextChoices):
        SKIP = "skip", "Skip the step"
        STOP = "stop", "Stop the tour"

    class BarPosition(models.TextChoices):
        TOP = "top", "Top"
        BOTTOM = "bottom", "Bottom"

    class BarStyle(models.TextChoices):
        INFO = "info", "Info"
        SUCCESS = "success", "Success"
        WARNING = "warning", "Warning"
        BRAND = "brand", "Brand colour"

    class SurveyKind(models.TextChoices):
        NPS = "nps", "NPS (0–10)"
        CSAT = "csat", "CSAT (1–5)"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="guides")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    name = models.CharField(max_length=160)
    description = models.TextField(blank=True, help_text="Internal note for the team; never shown to users.")

    # Targeting shared by every kind.
    stages = models.ManyToManyField(
        JourneyStage, blank=True, related_name="guides", help_text="Show only to users in these stages (none = any)."
    )
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="guides",
        help_text="Show only to users in this segment.",
    )
    device = models.CharField(max_length=8, choices=Device.choices, default=Device.ANY)
    trigger = models.CharField(max_length=12, choices=Trigger.choices, default=Trigger.PAGE_LOAD)
    trigger_selector = models.CharField(max_length=500, blank=True, help_text="CSS selector, for 'element appears'.")
    trigger_event = models.CharField(max_length=120, blank=True, help_text="Event name, for 'event happened'.")
    frequency = models.CharField(max_length=16, choices=Frequency.choices, default=Frequency.UNTIL_DONE)
    max_times = models.PositiveSmallIntegerField(null=True, blank=True, validators=[MinValueValidator(1)])
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    priority = models.SmallIntegerField(default=0, help_text="Higher first; one modal guide is shown at a time.")
    goal_event = models.CharField(max_length=120, blank=True, help_text="The event this guide is meant to cause.")

    # Tour.
    on_missing_target = models.CharField(max_length=4, choices=MissingTarget.choices, default=MissingTarget.SKIP)
    # Checklist.
    checklist_title = models.CharField(max_length=160, blank=True)
    dismissible = models.BooleanField(default=True)
    # Notification bar.
    bar_message = SanitizedHTMLField(blank=True)
    bar_position = models.CharField(max_length=6, choices=BarPosition.choices, default=BarPosition.TOP)
    bar_push_content = models.BooleanField(default=True, help_text="Push the page down instead of covering it.")
    bar_style = models.CharField(max_length=8, choices=BarStyle.choices, default=BarStyle.BRAND)
    # Survey.
    survey_kind = models.CharField(max_length=4, choices=SurveyKind.choices, default=SurveyKind.NPS)
    survey_question = models.CharField(max_length=300, blank=True)
    survey_follow_up_question = models.CharField(max_length=300, blank=True)
    survey_thank_you = models.CharField(max_length=300, blank=True, default="Thank you for your feedback!")

    live_version = models.OneToOneField(
        "GuideVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="live_for", editable=False
    )
    archived_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["application", "-priority", "name"]
        permissions = [("publish_guide", "Can publish, unpublish and archive guides")]
        indexes = [models.Index(fields=["application", "kind"], name="guide_app_kind")]

    def __str__(self) -> str:
        return self.name


class GuideUrlRule(models.Model):
    """A page-URL rule; a guide shows on pages matching any include rule and no exclude rule."""

    class MatchType(models.TextChoices):
        EXACT = "exact", "Exact"
        PREFIX = "prefix", "Starts with"
        GLOB = "glob", "Wildcard (* and **)"
        REGEX = "regex", "Regular expression"

    guide = models.ForeignKey(Guide, on_delete=models.CASCADE, related_name="url_rules")
    match_type = models.CharField(max_length=6, choices=MatchType.choices, default=MatchType.PREFIX)
    pattern = models.CharField(max_length=500)
    exclude = models.BooleanField(default=False, help_text="Never show on pages matching this rule.")

    class Meta:
        ordering = ["guide", "id"]

    def __str__(self) -> str:
        return f"{'not ' if self.exclude else ''}{self.get_match_type_display()} {self.pattern}"


class TourStep(models.Model):
    class Placement(models.TextChoices):
        AUTO = "auto", "Best fit"
        TOP = "top", "Above"
        BOTTOM = "bottom", "Below"
        LEFT = "left", "Left"
        RIGHT = "right", "Right"

    class Advance(models.TextChoices):
        NEXT = "next", "Next button"
        CLICK = "click", "Click on the target"
        EVENT = "event", "An event"

    guide = models.ForeignKey(Guide, on_delete=models.CASCADE, related_name="steps")
    order = models.PositiveSmallIntegerField(default=0)
    selector = models.CharField(max_length=500, help_text="CSS selector of the element the step points at.")
    selector_label = models.CharField(
        max_length=200, blank=True,
        help_text="What the selector pointed at when it was picked on the page; for your reference, never shown to users.",
    )
    title = models.CharField(max_length=160)
    body = SanitizedHTMLField(blank=True)
    placement = models.CharField(max_length=6, choices=Placement.choices, default=Placement.AUTO)
    advance = models.CharField(max_length=5, choices=Advance.choices, default=Advance.NEXT)
    advance_event = models.CharField(max_length=120, blank=True)
    wait_timeout_ms = models.PositiveIntegerField(
        default=5000, validators=[MaxValueValidator(60000)], help_text="How long to wait for the target."
    )
    modal = models.BooleanField(default=False, help_text="Dim the page and trap focus in the step.")

    class Meta:
        ordering = ["guide", "order", "id"]

    def __str__(self) -> str:
        return self.title


class ChecklistItem(models.Model):
    class Completion(models.TextChoices):
        EVENT = "event", "An event"
        TOUR = "tour", "Finishing a tour"
        URL = "url", "Visiting a URL"

    class CtaAction(models.TextChoices):
        NONE = "none", "No button"
        URL = "url", "Open a URL"
        TOUR = "tour", "Start a tour"

    guide = models.ForeignKey(Guide, on_delete=models.CASCADE, related_name="items")
    order = models.PositiveSmallIntegerField(default=0)
    title = models.CharField(max_length=160)
    description = SanitizedHTMLField(blank=True)
    completion = models.CharField(max_length=5, choices=Completion.choices, default=Completion.EVENT)
    completion_event = models.CharField(max_length=120, blank=True)
    completion_tour = models.ForeignKey(
        Guide, null=True, blank=True, on_delete=models.SET_NULL, related_name="completes_items",
        limit_choices_to={"kind": Guide.Kind.TOUR},
    )
    completion_url = models.CharField(max_length=500, blank=True)
    cta_label = models.CharField(max_length=60, blank=True)
    cta_action = models.CharField(max_length=4, choices=CtaAction.choices, default=CtaAction.NONE)
    cta_url = models.URLField(max_length=500, blank=True)
    cta_tour = models.ForeignKey(
        Guide, null=True, blank=True, on_delete=models.SET_NULL, related_name="started_by_items",
        limit_choices_to={"kind": Guide.Kind.TOUR},
    )

    class Meta:
        ordering = ["guide", "order", "id"]

    def __str__(self) -> str:
        return self.title


class BarButton(models.Model):
    class Action(models.TextChoices):
        URL = "url", "Open a URL"
        TOUR = "tour", "Start a tour"
        DISMISS = "dismiss", "Dismiss the bar"

    guide = models.ForeignKey(Guide, on_delete=models.CASCADE, related_name="buttons")
    order = models.PositiveSmallIntegerField(default=0)
    label = models.CharField(max_length=60)
    action = models.CharField(max_length=7, choices=Action.choices, default=Action.URL)
    url = models.URLField(max_length=500, blank=True)
    tour = models.ForeignKey(
        Guide, null=True, blank=True, on_delete=models.SET_NULL, related_name="started_by_buttons",
        limit_choices_to={"kind": Guide.Kind.TOUR},
    )

    class Meta:
        ordering = ["guide", "order", "id"]

    def __str__(self) -> str:
        return self.label


class GuideVersion(models.Model):
    """An immutable published snapshot of a guide: what the snippet receives."""

    guide = models.ForeignKey(Guide, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    payload = models.JSONField()
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="published_versions"
    )
    published_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["guide", "-number"]
        constraints = [models.UniqueConstraint(fields=["guide", "number"], name="guide_version_unique_number")]

    def __str__(self) -> str:
        return f"{self.guide} v{self.number}"


class TourGuide(Guide):
    class Meta:
        proxy = True
        verbose_name = "tooltip tour"


class ChecklistGuide(Guide):
    class Meta:
        proxy = True
        verbose_name = "checklist"


class BarGuide(Guide):
    class Meta:
        proxy = True
        verbose_name = "notification bar"


class SurveyGuide(Guide):
    class Meta:
        proxy = True
        verbose_name = "survey"
