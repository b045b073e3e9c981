"""Experiments on guides: design (variants, metrics), exposures, and stored result snapshots."""
import secrets

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from analytics.models import EndUser
from onboarding.models import Application, Guide, GuideVersion, JourneyStage, Segment


def new_salt() -> str:
    """The hash salt that makes this experiment's split independent of every other one."""
    return secrets.token_hex(8)


class Experiment(models.Model):
    """A randomised comparison of guides (A/B) or of guidance against none (global holdout)."""

    class Kind(models.TextChoices):
        AB = "ab", "A/B test of guides"
        HOLDOUT = "holdout", "Global holdout: the control sees no guidance at all"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        RUNNING = "running", "Running"
        STOPPED = "stopped", "Stopped"
        DECIDED = "decided", "Decided"

    class Unit(models.TextChoices):
        USER = "user", "User"
        ACCOUNT = "account", "Account (colleagues share a variant)"

    class Decision(models.TextChoices):
        SHIP = "ship", "Ship a variant"
        STOP = "stop", "Stop without shipping"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="experiments")
    name = models.CharField(max_length=160)
    hypothesis = models.TextField(
        blank=True, help_text="What you expect and why, e.g. 'A shorter tour raises activation because…'."
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.AB)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT, editable=False)

    # Who takes part: users the experiment's guides would reach, narrowed by these.
    stages = models.ManyToManyField(
        JourneyStage, blank=True, related_name="experiments",
        help_text="Only users in these stages enter the experiment (none = any stage).",
    )
    segment = models.ForeignKey(
        Segment, null=True, blank=True, on_delete=models.PROTECT, related_name="experiments",
        help_text="Only users in this segment enter the experiment.",
    )
    traffic_share = models.FloatField(
        default=1.0, validators=[MinValueValidator(0.0), MaxValueValidator(1.0)],
        help_text="Share of eligible users in the experiment, 0–1. The others see the control experience.",
    )
    randomization_unit = models.CharField(max_length=8, choices=Unit.choices, default=Unit.USER)
    salt = models.CharField(max_length=32, default=new_salt, editable=False)

    # Planning and analysis.
    planned_baseline = models.FloatField(
        default=0.2, validators=[MinValueValidator(0.0)],
        help_text="Expected control value of the primary metric: a rate 0–1, or a mean per user for a count.",
    )
    planned_mde = models.FloatField(
        "planned minimum detectable effect", default=0.05, validators=[MinValueValidator(1e-6)],
        help_text="Smallest absolute change worth detecting: 0.05 = 5 percentage points for a rate.",
    )
    alpha = models.FloatField(
        default=0.05, validators=[MinValueValidator(0.001), MaxValueValidator(0.5)],
        help_text="Significance level: the accepted chance of a false positive per comparison.",
    )
    power = models.FloatField(
        default=0.8, validators=[MinValueValidator(0.5), MaxValueValidator(0.99)],
        help_text="Chance of detecting the planned effect if it is real.",
    )
    sequential = models.BooleanField(
        default=True, help_text="Always-valid results: look as often as you like without inflating false positives."
    )
    conversion_window_days = models.PositiveSmallIntegerField(
        default=14, validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Days after exposure a metric counts, unless the metric sets its own.",
    )

    started_at = models.DateTimeField(null=True, blank=True, editable=False)
    stopped_at = models.DateTimeField(null=True, blank=True, editable=False)

    decided_at = models.DateTimeField(null=True, blank=True, editable=False)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="decided_experiments", editable=False,
    )
    decision = models.CharField(max_length=4, choices=Decision.choices, blank=True, editable=False)
    decision_note = models.TextField(blank=True, editable=False)
    winning_variant = models.ForeignKey(
        "Variant", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", editable=False
    )

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        permissions = [("run_experiment", "Can start, stop, recompute and decide experiments")]
        indexes = [models.Index(fields=["application", "status"], name="experiment_app_status")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(traffic_share__gte=0.0, traffic_share__lte=1.0), name="experiment_traffic_share_0_1"
            ),
            models.CheckConstraint(condition=models.Q(alpha__gt=0.0, alpha__lt=1.0), name="experiment_alpha_0_1"),
            models.CheckConstraint(condition=models.Q(power__gt=0.0, power__lt=1.0), name="experiment_power_0_1"),
        ]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    """One arm. Control: no guide, or the current guide; treatments: other guides (or none)."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="variants")
    key = models.SlugField(max_length=40, help_text="Short id the snippet reports, e.g. 'control' or 'short-tour'.")
    name = models.CharField(max_length=120)
    weight = models.PositiveIntegerField(default=50, help_text="Relative share of participants, e.g. 50 / 50.")
    is_control = models.BooleanField(default=False)
    guide = models.ForeignKey(
        Guide, null=True, blank=True, on_delete=models.PROTECT, related_name="experiment_variants",
        help_text="The guide this variant shows; empty = none of the experiment's guides.",
    )
    guide_version = models.ForeignKey(
        GuideVersion, null=True, blank=True, on_delete=models.PROTECT, related_name="experiment_variants",
        help_text="Pin a published version of the guide; empty = its live version.",
    )

    class Meta:
        ordering = ["experiment", "-is_control", "id"]
        constraints = [
            models.UniqueConstraint(fields=["experiment", "key"], name="variant_unique_key"),
            models.UniqueConstraint(
                fields=["experiment"], condition=models.Q(is_control=True), name="variant_one_control"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({'control' if self.is_control else self.key})"


class Metric(models.Model):
    """What an experiment measures per exposed user, counted from their own exposure time."""

    class Kind(models.TextChoices):
        ACTIVATION = "activation", "Activation: reached a stage, or did an event, within the window"
        ADOPTION = "adoption", "Adoption: did an event within the window"
        COUNT = "count", "Count: mean number of an event per user within the window"
        RETENTION = "retention", "Retention: active in week N after exposure"

    class Role(models.TextChoices):
        PRIMARY = "primary", "Primary: decides the experiment"
        SECONDARY = "secondary", "Secondary: explains it"
        GUARDRAIL = "guardrail", "Guardrail: must not get worse"

    class Direction(models.TextChoices):
        INCREASE = "increase", "Higher is better"
        DECREASE = "decrease", "Lower is better"

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="metrics")
    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ACTIVATION)
    role = models.CharField(max_length=9, choices=Role.choices, default=Role.PRIMARY)
    direction = models.CharField(max_length=8, choices=Direction.choices, default=Direction.INCREASE)
    event_name = models.CharField(
        max_length=200, blank=True,
        help_text="The event counted. Retention without an event counts any product event or page view.",
    )
    stage = models.ForeignKey(
        JourneyStage, null=True, blank=True, on_delete=models.PROTECT, related_name="experiment_metrics",
        help_text="Activation: reaching this stage (or a later one) counts.",
    )
    window_days = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Days after exposure; empty = the experiment's conversion window.",
    )
    week_number = models.PositiveSmallIntegerField(
        null=True, blank=True, validators=[MinValueValidator(1), MaxValueValidator(52)],
        help_text="Retention: week N covers days 7N to 7N + 6 after exposure (week 1 = the second week).",
    )

    class Meta:
        ordering = ["experiment", "id"]

    def __str__(self) -> str:
        return self.name


class Exposure(models.Model):
    """The first time a user's variant changed, or could have changed, what they see."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="exposures")
    variant = models.ForeignKey(Variant, on_delete=models.CASCADE, related_name="exposures")
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="experiment_exposures")
    unit_id = models.CharField(
        max_length=64, help_text="What was randomised: 'user:<pk>' or 'account:<pk>'; accounts are clusters."
    )
    exposed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "user"], name="exposure_unique_user")]
        indexes = [models.Index(fields=["experiment", "variant", "exposed_at"], name="exposure_exp_variant_time")]

    def __str__(self) -> str:
        return f"{self.user_id} in {self.variant_id} at {self.exposed_at:%Y-%m-%d %H:%M}"


class ResultSnapshot(models.Model):
    """Results as computed at one moment: the aggregates that went in and the statistics out."""

    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="snapshots")
    computed_at = models.DateTimeField()
    code_version = models.CharField(max_length=80)
    inputs = models.JSONField(default=dict)
    outputs = models.JSONField(default=dict)

    class Meta:
        ordering = ["experiment", "-computed_at"]
        indexes = [models.Index(fields=["experiment", "-computed_at"], name="snapshot_exp_time")]

    def __str__(self) -> str:
        return f"{self.experiment_id} at {self.computed_at:%Y-%m-%d %H:%M}"
