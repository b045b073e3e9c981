"""The classic SaaS customer journey every new application starts with."""

FEATURE_EVENTS = (
    "integration_connected",
    "widget_customized",
    "teammate_invited",
    "chatbot_created",
    "report_viewed",
    "canned_reply_created",
    "conversation_assigned",
)

DEFAULT_STAGES = (
    ("signup", "Sign-up", "Created an account.", None),
    ("onboarding", "Onboarding", "Started setting up the product.", {"event": "onboarding_started"}),
    ("activation", "Activation", "Reached the first value moment.", {"event": "integration_connected"}),
    (
        "adoption",
        "Adoption",
        "Uses at least five distinct features within 14 days.",
        {"distinct_events": list(FEATURE_EVENTS), "min_count": 5, "within_days": 14},
    ),
    ("retention", "Retention", "Keeps coming back.", {"event": "report_viewed", "min_count": 4, "within_days": 30}),
    ("expansion", "Expansion", "Upgraded or added seats.", {"event": "plan_upgraded"}),
    ("advocacy", "Advocacy", "Recommends the product.", {"event": "referral_sent"}),
)
