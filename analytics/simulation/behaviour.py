"""What each simulated user does, as events: sign-up, guides, features, weekly use, payments, surveys.

Times are days since the simulation's start; each user's journey is laid out relative to their
sign-up ``t0``. Users who are not retained stop being active (churn) within 2–24 days — before
their fifth week, which is where the reports look for retention; retained users come back every
4–7 days from their third week on, viewing reports (which moves them into the retention stage).

Adopters use 5–7 distinct features, all within 12.5 days of signing up (inside the 14-day
adoption window); everyone else uses 3–4 distinct features, so never reaches adoption.
"""
from __future__ import annotations

import numpy as np

from analytics.simulation.events import EventBuilder, EventColumns
from analytics.simulation.personas import (
    FIRST_USE_WITHIN_DAYS, INTEGRATION_DELAY_SIGMA, PERSONAS, PLAN_PRICES, PLANS,
)
from analytics.simulation.truth import AA, BAR, CHECKLIST, TOUR, TOUR_ACTIVATION_DELAY_FACTOR

SECOND = 1 / 86_400
MINUTE = 60 * SECOND
OTHER_FEATURES = ("teammate_invited", "chatbot_created", "report_viewed", "canned_reply_created",
                  "conversation_assigned")
FEATURE_PAGES = {"teammate_invited": "settings", "chatbot_created": "inbox", "report_viewed": "reports",
                 "canned_reply_created": "inbox", "conversation_assigned": "inbox"}
PROVIDERS = ("slack", "email", "whatsapp", "messenger")
COMMENTS = {
    "promoter": ("Setup took five minutes.", "The Slack integration saves us hours.", "", ""),
    "passive": ("Good, but the reports could go deeper.", "", ""),
    "detractor": ("Too expensive for a team our size.", "Hard to set up without a developer.", ""),
}
WEEKLY_FROM_DAY = 14.0
SESSION_GAP_DAYS = (5.0, 7.0)
CHURN_WITHIN_DAYS = (2.0, 24.0)
P_UPGRADE = 0.2
P_SURVEY_ANSWERED = 0.6
P_REFERRAL_IF_PROMOTER = 0.35
P_RENDER_FAILED = 0.03
P_SESSION_PAGEVIEW = 0.15


def journey_events(sim, chunk, rng: np.random.Generator) -> EventColumns:
    population = chunk.population
    n = len(population)
    users = np.arange(n)
    t0 = population.signup_days
    out = chunk.outcomes
    none = np.full(n, -1, dtype=np.int8)
    treat = {key: chunk.variants.get(key, none) == 1 for key in (BAR, CHECKLIST, TOUR)}
    events = EventBuilder(n)
    catalog = sim.properties

    events.add(users, "$pageview", t0, page="dashboard")
    events.add(users, "onboarding_started", t0 + rng.exponential(5 * MINUTE, n), where=out.onboarding)

    # Features: the integration and the widget follow their own outcomes; the others fill up the breadth.
    median = np.array([p.integration_median_days for p in PERSONAS])[population.persona]
    delay = median * np.exp(INTEGRATION_DELAY_SIGMA * rng.standard_normal(n))
    delay = np.clip(np.where(treat[TOUR], delay * TOUR_ACTIVATION_DELAY_FACTOR, delay), 0.01, FIRST_USE_WITHIN_DAYS)
    integration_at = t0 + delay
    provider = rng.integers(0, len(PROVIDERS), n)
    for index, name in enumerate(PROVIDERS):
        events.add(users, "integration_connected", integration_at, catalog.code({"provider": name}),
                   page="integrations", where=out.integrate & (provider == index))
    widget_at = t0 + rng.uniform(0.01, 10.0, n) * np.where(treat[TOUR], 0.3, 1.0)
    events.add(users, "widget_customized", widget_at, page="widget", where=out.widget)

    breadth = np.where(out.adopt, 5 + rng.binomial(2, 0.45, n), 3 + (rng.random(n) < 0.5))
    others = np.clip(breadth - out.integrate - out.widget, 1, len(OTHER_FEATURES))
    keys = rng.random((n, len(OTHER_FEATURES)))
    keys[:, OTHER_FEATURES.index("report_viewed")] -= out.retained  # retained users view reports
    uses = np.argsort(np.argsort(keys, axis=1), axis=1) < others[:, None]
    first_use = t0[:, None] + rng.uniform(0.02, FIRST_USE_WITHIN_DAYS, (n, len(OTHER_FEATURES)))
    latest = np.max(np.where(uses, first_use, -np.inf), axis=1)
    latest = np.maximum(latest, np.where(out.integrate, integration_at, -np.inf))
    latest = np.maximum(latest, np.where(out.widget, widget_at, -np.inf))
    for column, name in enumerate(OTHER_FEATURES):
        events.add(users, name, first_use[:, column], page=FEATURE_PAGES[name], where=uses[:, column])

    # Churned users stop after their last feature use; retained users come back weekly.
    churn_at = np.maximum(t0 + rng.uniform(*CHURN_WITHIN_DAYS, n), latest + 0.01)
    sessions = _weekly_sessions(t0[out.retained], sim.config.signup_days, rng)
    kept = users[out.retained]
    session_users = np.repeat(kept[:, None], sessions.shape[1], axis=1)
    events.add(session_users.ravel(), "report_viewed", sessions.ravel(), page="reports")
    glance = rng.random(sessions.shape) < P_SESSION_PAGEVIEW
    events.add(session_users.ravel(), "$pageview", (sessions - 2 * MINUTE).ravel(), page="dashboard",
               where=glance.ravel())
    active_until = np.where(out.retained, np.inf, churn_at)

    _payments(events, catalog, population, t0, out.retained, active_until, rng)
    survey_at, scores = _survey(events, sim, chunk, sessions, kept, churn_at, rng)
    promoters = (scores >= 9) & (rng.random(n) < P_REFERRAL_IF_PROMOTER)
    events.add(users, "referral_sent", survey_at + rng.uniform(0.1, 7.0, n), catalog.code({"channel": "email"}),
               page="settings", where=promoters)
    _guides(events, sim, treat, t0, integration_at, out, first_use, uses, rng)
    _welcome(events, sim, chunk.variants.get(AA, none), t0, rng)
    return events.build(start_ms=sim.start_ms, end_days=float(sim.config.signup_days), rng=rng)


def _weekly_sessions(t0: np.ndarray, days: int, rng: np.random.Generator) -> np.ndarray:
    """Session times (n × k) every 4–7 days from the third week; past the end they are dropped later."""
    count = int(np.ceil(days / SESSION_GAP_DAYS[0])) + 1
    gaps = rng.uniform(*SESSION_GAP_DAYS, (len(t0), count))
    gaps[:, 0] = rng.uniform(0.0, 3.0, len(t0))
    return t0[:, None] + WEEKLY_FROM_DAY + np.cumsum(gaps, axis=1)


def _payments(events, catalog, population, t0, retained, active_until, rng) -> None:
    n = len(t0)
    users = np.arange(n)
    plan = np.array([PLANS.index(traits["plan"]) for traits in population.user_traits], dtype=np.int64)
    upgrade = retained & (plan < len(PLANS) - 1) & (rng.random(n) < P_UPGRADE)
    upgrade_at = t0 + 28 + rng.uniform(0, 35, n)
    for old in range(len(PLANS) - 1):
        code = catalog.code({"from_plan": PLANS[old], "to_plan": PLANS[old + 1]})
        events.add(users, "plan_upgraded", upgrade_at, code, page="settings", where=upgrade & (plan == old))
    for month in range(4):
        at = t0 + 14 + 30 * month
        current = np.where(upgrade & (at >= upgrade_at), plan + 1, plan)
        for index, name in enumerate(PLANS):
            if PLAN_PRICES[name]:
                code = catalog.code({"amount": PLAN_PRICES[name], "currency": "USD", "plan": name})
                events.add(users, "subscription_paid", at, code, page="settings",
                           where=(current == index) & (at < active_until))


def _survey(events, sim, chunk, sessions, kept, churn_at, rng) -> tuple[np.ndarray, np.ndarray]:
    """The NPS survey for retained users (third session week) and half the churning adopters."""
    n = len(churn_at)
    guide_id, version = sim.guides.survey
    catalog = sim.properties
    shown_at = np.full(n, np.inf)
    if len(kept):
        first = np.argmax(sessions >= sessions[:, :1] + 7, axis=1)
        shown_at[kept] = sessions[np.arange(len(kept)), first] + 30 * SECOND
    leaving = ~chunk.outcomes.retained & chunk.outcomes.adopt & (rng.random(n) < 0.5)
    shown_at[leaving] = churn_at[leaving] - MINUTE
    shown = np.isfinite(shown_at)
    mean = np.where(chunk.outcomes.retained, np.array([p.nps_mean for p in PERSONAS])[chunk.population.persona], 5.0)
    scores = np.clip(np.rint(mean + 1.5 * rng.standard_normal(n)), 0, 10).astype(np.int64)
    answered = shown & (rng.random(n) < P_SURVEY_ANSWERED)
    scores = np.where(answered, scores, -1)
    users = np.arange(n)
    events.add(users, "$guide_shown", shown_at,
               catalog.code({"guide_id": guide_id, "guide_version": version, "guide_type": "survey"}),
               page="reports", where=shown)
    comment_pick = rng.random(n)
    for score in range(11):
        group = "promoter" if score >= 9 else "passive" if score >= 7 else "detractor"
        comments = COMMENTS[group]
        for index, comment in enumerate(comments):
            code = catalog.code({"guide_id": guide_id, "kind": "nps", "score": score, "comment": comment})
            pick = (scores == score) & ((comment_pick * len(comments)).astype(int) == index)
            events.add(users, "$survey_submitted", shown_at + 20 * SECOND, code, page="reports", where=pick)
    done = catalog.code({"guide_id": guide_id, "guide_type": "survey"})
    events.add(users, "$guide_completed", shown_at + 21 * SECOND, done, page="reports", where=answered)
    events.add(users, "$guide_dismissed", shown_at + 15 * SECOND, done, page="reports", where=shown & ~answered)
    return np.where(answered, shown_at, np.inf), scores


def _guides(events, sim, treat, t0, integration_at, out, first_use, uses, rng) -> None:
    """The bar, the tour and the checklist, for the users in their experiments' treatment arms."""
    catalog, guides = sim.properties, sim.guides
    n = len(t0)
    users = np.arange(n)

    def shown(guide: tuple[int, int], kind: str) -> int:
        return catalog.code({"guide_id": guide[0], "guide_version": guide[1], "guide_type": kind})

    def plain(guide: tuple[int, int], kind: str) -> int:
        return catalog.code({"guide_id": guide[0], "guide_type": kind})

    bar = treat[BAR]
    events.add(users, "$guide_shown", t0 + 20 * SECOND, shown(guides.bar, "bar"), where=bar)
    clicked = bar & (rng.random(n) < 0.3)
    events.add(users, "$cta_clicked", t0 + 35 * SECOND, catalog.code(
        {"guide_id": guides.bar[0], "guide_type": "bar", "label": "Show me", "action": "tour"}), where=clicked)
    events.add(users, "$guide_dismissed", t0 + 40 * SECOND, plain(guides.bar, "bar"),
               where=bar & ~clicked & (rng.random(n) < 0.5))

    tour = treat[TOUR]
    steps = guides.tour_steps
    events.add(users, "$guide_shown", t0 + 60 * SECOND, shown(guides.tour, "tour"), page="widget", where=tour)
    reached = tour.copy()
    for index, (step_id, selector) in enumerate(steps):
        if index:
            reached &= rng.random(n) < (0.75 if index == 1 else 0.85)
        at = t0 + (61 + 15 * index) * SECOND
        failed = reached & (rng.random(n) < P_RENDER_FAILED) if index else np.zeros(n, dtype=bool)
        events.add(users, "$guide_step_viewed", at, catalog.code(
            {"guide_id": guides.tour[0], "step_index": index, "step_id": step_id, "step_count": len(steps)}),
            page="widget", where=reached & ~failed)
        events.add(users, "$guide_render_failed", at, catalog.code(
            {"guide_id": guides.tour[0], "step_index": index, "selector": selector, "reason": "target_not_found"}),
            page="widget", where=failed)
    tour_done_at = t0 + (61 + 15 * len(steps)) * SECOND
    events.add(users, "$guide_completed", tour_done_at, plain(guides.tour, "tour"), page="widget", where=reached)
    events.add(users, "$guide_dismissed", t0 + 80 * SECOND, plain(guides.tour, "tour"), page="widget",
               where=tour & ~reached & (rng.random(n) < 0.8))

    checklist = treat[CHECKLIST]
    items = guides.checklist_items
    events.add(users, "$guide_shown", t0 + 30 * SECOND, shown(guides.checklist, "checklist"), where=checklist)
    invite = OTHER_FEATURES.index("teammate_invited")
    completions = (
        ("integration", out.integrate, integration_at + 2 * SECOND),
        ("widget", reached, tour_done_at + SECOND),
        ("invite", uses[:, invite], first_use[:, invite] + 2 * SECOND),
    )
    # The snippet reports the items it sees completed on the page; the server completes the
    # tour item itself (from ``$guide_completed`` of the tour), so that one is not sent.
    for role, done, at in completions:
        if role != "widget":
            code = catalog.code({"guide_id": guides.checklist[0], "item_id": items[role]})
            events.add(users, "$checklist_item_completed", at, code, where=checklist & done)
    all_done = checklist & np.logical_and.reduce([done for _, done, _ in completions])
    last = np.max(np.stack([at for _, _, at in completions]), axis=0)
    events.add(users, "$guide_completed", last + SECOND, plain(guides.checklist, "checklist"), where=all_done)


def _welcome(events, sim, variant, t0, rng) -> None:
    """The A/A experiment's one-step welcome tours: each arm sees its own, identical copy."""
    n = len(t0)
    users = np.arange(n)
    catalog = sim.properties
    done = rng.random(n) < 0.55
    for index, (guide_id, version) in enumerate(sim.guides.welcome):
        arm = variant == index
        events.add(users, "$guide_shown", t0 + 5 * SECOND,
                   catalog.code({"guide_id": guide_id, "guide_version": version, "guide_type": "tour"}), where=arm)
        events.add(users, "$guide_completed", t0 + 9 * SECOND,
                   catalog.code({"guide_id": guide_id, "guide_type": "tour"}), where=arm & done)
