"""What Wayline knows about end users: accounts, users, events and the state derived from them."""
import uuid

from django.db import models

from onboarding.models import Application, ChecklistItem, Guide, JourneyStage


class Account(models.Model):
    """The customer's customer: a company, for B2B products."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="accounts")
    external_id = models.CharField(max_length=200)
    traits = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["application", "external_id"], name="account_unique_external")]

    def __str__(self) -> str:
        return self.external_id


class EndUser(models.Model):
    """A user of the customer's product; anonymous until identified (``external_id`` empty)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="end_users")
    external_id = models.CharField(max_length=200, null=True, blank=True)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="users")
    traits = models.JSONField(default=dict, blank=True)
    stage = models.ForeignKey(JourneyStage, null=True, blank=True, on_delete=models.SET_NULL, related_name="users")
    stage_entered_at = models.DateTimeField(null=True, blank=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application", "external_id"],
                condition=models.Q(external_id__isnull=False),
                name="enduser_unique_external",
            )
        ]
        indexes = [models.Index(fields=["application", "last_seen_at"], name="enduser_app_seen")]
        permissions = [
            ("erase_enduser", "Can erase an end user and all their data"),
            ("export_enduser", "Can export all of an end user's data"),
        ]

    def __str__(self) -> str:
        return self.external_id or f"anonymous #{self.pk}"


class UserAlias(models.Model):
    """An anonymous id the snippet generated, pointing at the user it belongs to (after merges too)."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="user_aliases")
    anonymous_id = models.CharField(max_length=200)
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="aliases")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "anonymous_id"], name="alias_unique_anonymous_id")
        ]

    def __str__(self) -> str:
        return self.anonymous_id


class Event(models.Model):
    """One thing a user did; ``id`` is the client-generated UUID, the idempotency key."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4)
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="events")
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="events")
    name = models.CharField(max_length=200)
    timestamp = models.DateTimeField()
    received_at = models.DateTimeField()
    timestamp_clamped = models.BooleanField(default=False, help_text="The client's timestamp was in the future.")
    properties = models.JSONField(default=dict, blank=True)
    url = models.CharField(max_length=2000, blank=True)
    session_id = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["application", "name", "timestamp"], name="event_app_name_time"),
            models.Index(fields=["user", "timestamp"], name="event_user_time"),
        ]

    def __str__(self) -> str:
        return f"{self.name} by {self.user_id} at {self.timestamp:%Y-%m-%d %H:%M}"


class UserEventDaily(models.Model):
    """How many times a user did an event on a day: the counters behaviour rules read."""

    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="daily_counts")
    name = models.CharField(max_length=200)
    day = models.DateField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "name", "day"], name="daily_unique_user_name_day")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.name} {self.day}: {self.count}"


class StageTransition(models.Model):
    """A user moving into a journey stage, at the time of the event that moved them."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="stage_transitions")
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="stage_transitions")
    from_stage = models.ForeignKey(
        JourneyStage, null=True, blank=True, on_delete=models.CASCADE, related_name="transitions_out"
    )
    to_stage = models.ForeignKey(JourneyStage, on_delete=models.CASCADE, related_name="transitions_in")
    at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["user", "at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "to_stage", "at"], name="transition_unique_user_stage_at")
        ]
        indexes = [models.Index(fields=["application", "to_stage", "at"], name="transition_app_stage_at")]

    def __str__(self) -> str:
        return f"{self.user_id} → {self.to_stage_id} at {self.at:%Y-%m-%d}"


class GuideState(models.Model):
    """What a user has done with a guide, kept server-side so it holds across devices and tabs."""

    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="guide_states")
    guide = models.ForeignKey(Guide, on_delete=models.CASCADE, related_name="user_states")
    seen_count = models.PositiveIntegerField(default=0)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    last_session_id = models.CharField(max_length=100, blank=True)
    dismissed_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    render_failed_count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "guide"], name="guidestate_unique_user_guide")]

    def __str__(self) -> str:
        return f"{self.user_id} / {self.guide_id}"


class ChecklistItemCompletion(models.Model):
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="checklist_completions")
    item = models.ForeignKey(ChecklistItem, on_delete=models.CASCADE, related_name="completions")
    completed_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "item"], name="checklist_unique_user_item")]

    def __str__(self) -> str:
        return f"{self.user_id} ✓ {self.item_id}"


class SurveyResponse(models.Model):
    """An NPS or CSAT answer, first-class so reports don't parse event properties."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="survey_responses")
    guide = models.ForeignKey(Guide, on_delete=models.CASCADE, related_name="survey_responses")
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="survey_responses")
    event_id = models.UUIDField(unique=True)
    kind = models.CharField(max_length=4, choices=Guide.SurveyKind.choices)
    score = models.PositiveSmallIntegerField()
    comment = models.TextField(blank=True)
    stage_slug = models.SlugField(max_length=40, blank=True, help_text="The user's stage when they answered.")
    responded_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["guide", "responded_at"], name="survey_guide_time")]

    def __str__(self) -> str:
        return f"{self.kind} {self.score} by {self.user_id}"


# --- report rollups: precomputed by Celery, upserted on their unique keys -------------------


class UserDayActivity(models.Model):
    """A user was active (did at least one event) on a day: the base of retention, churn, activity."""

    # No separate foreign-key indexes: the unique key leads with user, the index with application.
    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="user_day_activity", db_index=False
    )
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="day_activity", db_index=False)
    day = models.DateField()
    events = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="dayactivity_unique_user_day")]
        indexes = [models.Index(fields=["application", "day"], name="dayactivity_app_day")]

    def __str__(self) -> str:
        return f"{self.user_id} active {self.day}: {self.events}"


class EventNameDaily(models.Model):
    """How many times an event was done on a day in an application, and by how many users."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="event_name_daily", db_index=False
    )
    day = models.DateField()
    name = models.CharField(max_length=200)
    events = models.PositiveIntegerField(default=0)
    users = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "day", "name"], name="eventdaily_unique_app_day_name")
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.day}: {self.events}"


class StageEntryDaily(models.Model):
    """How many transitions into a journey stage happened on a day, and by how many users."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="stage_entry_daily", db_index=False
    )
    stage = models.ForeignKey(JourneyStage, on_delete=models.CASCADE, related_name="entry_daily")
    day = models.DateField()
    entries = models.PositiveIntegerField(default=0)
    users = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "stage", "day"], name="stageentry_unique_app_stage_day")
        ]

    def __str__(self) -> str:
        return f"{self.stage_id} {self.day}: {self.entries}"


class ReportRollupState(models.Model):
    """How far the report rollups of an application are refreshed."""

    application = models.OneToOneField(Application, on_delete=models.CASCADE, related_name="report_rollup_state")
    refreshed_at = models.DateTimeField()
    refreshed_since = models.DateTimeField(null=True, blank=True, help_text="Start of the last refreshed window.")

    def __str__(self) -> str:
        return f"{self.application_id} refreshed {self.refreshed_at:%Y-%m-%d %H:%M}"


class SegmentMembership(models.Model):
    """A user matched a segment rule that reports could not translate into SQL, at the last refresh."""

    segment = models.ForeignKey("onboarding.Segment", on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="segment_memberships")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["segment", "user"], name="membership_unique_segment_user")]

    def __str__(self) -> str:
        return f"{self.user_id} ∈ {self.segment_id}"


class SegmentMembershipRefresh(models.Model):
    segment = models.OneToOneField("onboarding.Segment", on_delete=models.CASCADE, related_name="membership_refresh")
    refreshed_at = models.DateTimeField()
    members = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.segment_id}: {self.members} at {self.refreshed_at:%Y-%m-%d %H:%M}"


class EndUserErasure(models.Model):
    """The audit record of one right-to-erasure request: who, when, how much; no personal data.

    The erased user's external id and traits are gone with them; ``end_user_pk`` is the internal
    id the row had, meaningless without the row, kept so logs of the same moment can be matched.
    """

    class Via(models.TextChoices):
        ADMIN = "admin", "Admin"
        API = "api", "Server API"
        COMMAND = "command", "Command or code"

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="erasures")
    end_user_pk = models.BigIntegerField()
    requested_by = models.CharField(max_length=200, help_text="The staff user or the key that asked.")
    via = models.CharField(max_length=10, choices=Via.choices)
    rows_deleted = models.JSONField(default=dict, help_text="Rows deleted per table, the user's own row included.")
    total_rows = models.PositiveIntegerField(default=0)
    erased_at = models.DateTimeField()

    class Meta:
        ordering = ["-erased_at"]
        indexes = [models.Index(fields=["application", "erased_at"], name="erasure_app_time")]

    def __str__(self) -> str:
        return f"erasure of user #{self.end_user_pk} at {self.erased_at:%Y-%m-%d %H:%M}"


class UserGuideEvent(models.Model):
    """The last time a user viewed a tour step (``kind`` step) or clicked a guide's button (cta).

    Kept per user × guide × step so guide performance never scans raw events: "engaged since the
    range began" is ``last_at >= start``.
    """

    class Kind(models.TextChoices):
        STEP = "step", "tour step viewed"
        CTA = "cta", "button clicked"

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="user_guide_events", db_index=False
    )
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="guide_events", db_index=False)
    guide = models.ForeignKey(Guide, on_delete=models.CASCADE, related_name="user_events", db_index=False)
    kind = models.CharField(max_length=4, choices=Kind.choices)
    step = models.IntegerField(default=-1, help_text="The tour step index (0 is the first); -1 for a click.")
    last_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "guide", "kind", "step"], name="guideevent_unique_user_guide")
        ]
        indexes = [models.Index(fields=["application", "kind", "last_at"], name="guideevent_app_kind_time")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.kind} {self.guide_id}/{self.step} at {self.last_at:%Y-%m-%d}"


class UserFeatureWeek(models.Model):
    """On which days of an ISO week a user did a (non-``$``) event: bit d set for Monday + d days."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="user_feature_weeks", db_index=False
    )
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="feature_weeks", db_index=False)
    week = models.DateField(help_text="The Monday of the ISO week.")
    name = models.CharField(max_length=200)
    days = models.PositiveSmallIntegerField(help_text="Bit mask of the weekdays (bit 0 Monday).")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "week", "name"], name="featureweek_unique_user_week_name")
        ]
        indexes = [models.Index(fields=["application", "name", "week"], name="featureweek_app_name_week")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.name} week of {self.week}: {self.days:07b}"


class UserMonthRevenue(models.Model):
    """What a user paid in a calendar month: the revenue event's numeric amounts summed, and how often."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="user_month_revenue", db_index=False
    )
    user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="month_revenue", db_index=False)
    month = models.DateField(help_text="The first day of the month.")
    amount = models.FloatField(null=True, blank=True, help_text="Empty when no payment had a numeric amount.")
    payments = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "month"], name="monthrevenue_unique_user_month")]
        indexes = [models.Index(fields=["application", "month"], name="monthrevenue_app_month")]

    def __str__(self) -> str:
        return f"{self.user_id} {self.month:%Y-%m}: {self.amount}"


class CohortDayStage(models.Model):
    """Of the users first seen on a day, how many got furthest to a stage order (-1: no transition)."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="cohort_day_stages", db_index=False
    )
    first_day = models.DateField()
    furthest_order = models.IntegerField()
    users = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "first_day", "furthest_order"],
                                    name="cohortstage_unique_app_day_order")
        ]

    def __str__(self) -> str:
        return f"{self.first_day} → {self.furthest_order}: {self.users}"


class CohortDayActivity(models.Model):
    """Of the users first seen on a day, how many were active in week ``week`` after (days [7w, 7w + 7))."""

    application = models.ForeignKey(
        Application, on_delete=models.CASCADE, related_name="cohort_day_activity", db_index=False
    )
    first_day = models.DateField()
    week = models.PositiveIntegerField()
    users = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "first_day", "week"], name="cohortactivity_unique_app_day_week")
        ]

    def __str__(self) -> str:
        return f"{self.first_day} week {self.week}: {self.users}"


class ReportSnapshot(models.Model):
    """A report computed by Celery for a fixed question, served instead of computing it per page view."""

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="report_snapshots")
    report = models.CharField(max_length=40)
    start = models.DateField()
    end = models.DateField()
    computed_at = models.DateTimeField()
    seconds = models.FloatField(help_text="How long the computation took.")
    payload = models.JSONField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["application", "report"], name="snapshot_unique_app_report")
        ]

    def __str__(self) -> str:
        return f"{self.report} of {self.application_id} at {self.computed_at:%Y-%m-%d %H:%M}"
