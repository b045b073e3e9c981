"""Who uses Chatterbox: three personas from common SaaS persona work, their traits and behaviour.

Each persona is a kind of company (an ``Account``) with one or more users. The numbers are the
*control* behaviour (no guide, no experiment); ``truth`` holds what guides change. Probabilities
are per user; delays are in days after the user signs up.

The population shares are chosen so that, mixed, the control rates are round numbers the truth
file states (42 % connect an integration, 30 % adopt); ``population_rate`` computes the mix.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Persona:
    key: str  # the ``persona`` trait, matched by the demo's persona segments
    label: str
    user_share: float  # share of all users (not of accounts)
    industry: str
    company_sizes: tuple[int, int]  # employees, inclusive range
    users_per_account: tuple[int, int]  # inclusive range of Chatterbox users in one company
    roles: tuple[str, ...]  # the first user of an account has the first role
    plans: tuple[tuple[str, float], ...]  # plan at sign-up and its probability
    # Behaviour under control.
    p_onboarding_started: float
    p_integration: float  # connects an integration (activation), eventually within 14 days
    integration_median_days: float  # log-normal delay from sign-up to the integration
    p_widget_customized: float
    p_adoption: float  # uses ≥ 5 distinct features within 14 days
    p_retained_if_adopted: float  # keeps coming back weekly
    p_retained_otherwise: float
    nps_mean: float  # mean NPS score of retained users (0–10)


PERSONAS: tuple[Persona, ...] = (
    Persona(
        key="technical_founder", label="Technical founder", user_share=0.30, industry="software",
        company_sizes=(1, 10), users_per_account=(1, 3), roles=("founder", "developer", "developer"),
        plans=(("free", 0.45), ("starter", 0.35), ("pro", 0.20)),
        p_onboarding_started=0.95, p_integration=0.58, integration_median_days=0.25,
        p_widget_customized=0.60, p_adoption=0.40, p_retained_if_adopted=0.88, p_retained_otherwise=0.07,
        nps_mean=8.6,
    ),
    Persona(
        key="budget_startup", label="Budget-conscious startup", user_share=0.38, industry="services",
        company_sizes=(1, 5), users_per_account=(1, 2), roles=("owner", "assistant"),
        plans=(("free", 0.55), ("starter", 0.40), ("pro", 0.05)),
        p_onboarding_started=0.92, p_integration=0.40, integration_median_days=1.0,
        p_widget_customized=0.50, p_adoption=0.24, p_retained_if_adopted=0.80, p_retained_otherwise=0.05,
        nps_mean=7.6,
    ),
    Persona(
        key="non_technical_manager", label="Non-technical manager", user_share=0.32, industry="manufacturing",
        company_sizes=(11, 50), users_per_account=(2, 5), roles=("support_manager", "support_agent"),
        plans=(("starter", 0.25), ("pro", 0.45), ("business", 0.30)),
        p_onboarding_started=0.96, p_integration=0.29375, integration_median_days=4.0,
        p_widget_customized=0.40625, p_adoption=0.2775, p_retained_if_adopted=0.90, p_retained_otherwise=0.08,
        nps_mean=8.0,
    ),
)
PERSONA_KEYS = tuple(persona.key for persona in PERSONAS)

PLANS = ("free", "starter", "pro", "business")
PLAN_PRICES = {"free": 0, "starter": 29, "pro": 79, "business": 199}  # monthly, in dollars

INTEGRATION_DELAY_SIGMA = 0.9  # log-normal shape of the sign-up → integration delay
FIRST_USE_WITHIN_DAYS = 12.5  # adopters use all their features inside the 14-day adoption window


def population_rate(attribute: str) -> float:
    """The share-weighted mean of a per-persona probability: the population's control rate."""
    return sum(persona.user_share * getattr(persona, attribute) for persona in PERSONAS)
