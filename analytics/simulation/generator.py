"""Seeded, deterministic generation of the simulated SaaS: accounts, users, outcomes, events.

Users are generated in chunks of ``chunk_users``; chunk ``k`` draws its population from
``numpy.random.default_rng([seed, k, 0])`` and its journeys from ``[seed, k, 1]``, so the same
(seed, users, chunk size, guide ids, experiment salts and units) always gives the same data, and
a chunk can be generated without the others. Everything per user is drawn as arrays (no Python
loop per user) except experiment assignment, which calls the real bucketing function once per
enrolled unit with the unit id the real assignment would hash (``user:<pk>``).

A user's latent outcomes (connects an integration, customises the widget, adopts, is retained)
are Bernoulli draws at the persona's rate plus the planted effect of the arm they are in. The
draws share one "engagement" factor through a Gaussian copula, so engaged users tend to do
everything, while each outcome's marginal rate stays exactly the planted one.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

import numpy as np
from scipy.special import ndtr

from analytics.simulation.events import EventColumns, PropertyCatalog
from analytics.simulation.personas import PERSONAS
from analytics.simulation.truth import (
    BAR_INTEGRATION_LIFT, CHECKLIST_ADOPTION_LIFT, SRM_EXPOSURE_DROP, TOUR, TOUR_WIDGET_LIFT, PlantedExperiment, Truth,
    truth_build,
)

AssignFn = Callable[[str, str, float, Sequence[float]], "int | None"]  # experiments.bucketing.assign
ENGAGEMENT_CORRELATION = 0.5
TEAMMATE_SIGNUP_MEAN_DAYS = 4.0


@dataclass(frozen=True)
class GuideRefs:
    """The demo guides the simulated snippet reports on (ids as stored, so guide state is derived)."""

    bar: tuple[int, int] = (1, 1)  # (guide id, live version number)
    tour: tuple[int, int] = (2, 1)
    tour_steps: tuple[tuple[int, str], ...] = ((1, "#customize-widget"), (2, "#assign-conversation"),
                                               (3, "#save-settings"))
    checklist: tuple[int, int] = (3, 1)
    checklist_items: dict[str, int] = field(default_factory=lambda: {"integration": 1, "widget": 2, "invite": 3})
    survey: tuple[int, int] = (4, 1)
    # The A/A experiment's two identical one-step welcome tours, one per arm (an A/B test needs a
    # guide per variant).
    welcome: tuple[tuple[int, int], tuple[int, int]] = ((5, 1), (6, 1))


@dataclass(frozen=True)
class ExperimentArm:
    """A planted experiment as the generator runs it: the real id and salt decide who is in which arm."""

    planted: PlantedExperiment
    experiment_id: int
    salt: str
    variant_keys: tuple[str, str] = ("control", "treatment")
    weights: tuple[float, ...] = (50, 50)
    traffic_share: float = 1.0


@dataclass(frozen=True)
class SimulationConfig:
    users: int
    seed: int
    end: datetime  # the simulated "now" (UTC); nothing happens at or after it
    signup_days: int = 84  # 12 weeks of sign-ups ending at ``end``
    enrol_days: int = 63  # experiments enrol the first 9 weeks' sign-ups: every metric window completes
    chunk_users: int = 50_000
    id_prefix: str = "sim"
    base_url: str = "https://app.chatterbox.example"
    # The planted logging bug: 8 % of the tour's treatment exposures never reach the server. At a
    # few thousand users the sample-ratio check cannot see 8 % yet, so small runs may plant more.
    srm_exposure_drop: float = SRM_EXPOSURE_DROP

    @property
    def start(self) -> datetime:
        return self.end - timedelta(days=self.signup_days)

    def truth(self) -> Truth:
        return truth_build(seed=self.seed, users=self.users, start=self.start, end=self.end,
                           signup_days=self.signup_days, enrol_days=self.enrol_days,
                           srm_exposure_drop=self.srm_exposure_drop)


@dataclass(frozen=True)
class Population:
    """The users of one chunk before anything happens to them: who they are and when they sign up."""

    index: int
    first_user: int  # global index of the chunk's first user
    user_ids: list[str]
    user_traits: list[dict]
    user_account: np.ndarray  # index into ``account_ids``
    account_ids: list[str]
    account_traits: list[dict]
    persona: np.ndarray  # index into PERSONAS
    signup_days: np.ndarray  # days since the simulation's start

    def __len__(self) -> int:
        return len(self.user_ids)


@dataclass(frozen=True)
class Units:
    """What each user's experiments randomise, as the real assignment names it (``user:<pk>``…)."""

    by_arm: dict[str, list[str]]  # experiment key → unit id per user of the chunk


@dataclass(frozen=True)
class Outcomes:
    """Latent truth per user of a chunk (boolean arrays), for tests and realised-rate checks."""

    onboarding: np.ndarray
    integrate: np.ndarray
    widget: np.ndarray
    adopt: np.ndarray
    retained: np.ndarray


@dataclass(frozen=True)
class Chunk:
    population: Population
    variants: dict[str, np.ndarray]  # experiment key → -1 not taking part, else the variant index
    exposure_logged: dict[str, np.ndarray]  # experiment key → the exposure reached the server
    exposure_days: np.ndarray  # when each user's exposures happen (days since the start)
    outcomes: Outcomes
    events: EventColumns


class Simulation:
    """Generate chunk by chunk: ``populations()``, then ``journeys(population, units)`` for each.

    ``units`` (what assignment hashes per user) usually needs the users' database ids, so the
    caller creates the users between the two steps; ``chunks()`` does both with stand-in units.
    """

    def __init__(self, config: SimulationConfig, *, guides: GuideRefs | None = None,
                 arms: Sequence[ExperimentArm] = (), assign: AssignFn | None = None) -> None:
        if arms and assign is None:
            raise ValueError("experiments need an assignment function (experiments.bucketing.assign)")
        self.config = config
        self.guides = guides or GuideRefs()
        self.arms = tuple(arms)
        self.assign = assign
        self.properties = PropertyCatalog()
        self.start_ms = int(config.start.astimezone(timezone.utc).timestamp() * 1000)

    def _rng(self, index: int, stream: int) -> np.random.Generator:
        return np.random.default_rng([self.config.seed, index, stream])

    def populations(self) -> Iterator[Population]:
        size = self.config.chunk_users
        for index, first in enumerate(range(0, self.config.users, size)):
            yield self._population(index, first, min(size, self.config.users - first), self._rng(index, 0))

    def journeys(self, population: Population, units: Units | None = None) -> Chunk:
        from analytics.simulation.behaviour import journey_events

        rng = self._rng(population.index, 1)
        units = units or Units({arm.planted.key: [f"user:{u}" for u in population.user_ids] for arm in self.arms})
        variants, logged = self._assign(population, units, rng)
        outcomes = self._outcomes(population.persona, variants, rng)
        chunk = Chunk(population=population, variants=variants, exposure_logged=logged,
                      exposure_days=population.signup_days + 10 / 86_400, outcomes=outcomes, events=None)
        return replace(chunk, events=journey_events(self, chunk, rng))

    def chunks(self) -> Iterator[Chunk]:
        for population in self.populations():
            yield self.journeys(population)

    # --- population ------------------------------------------------------------------------

    def _population(self, index: int, first: int, n: int, rng: np.random.Generator) -> Population:
        config = self.config
        shares = np.array([p.user_share for p in PERSONAS])
        mean_sizes = np.array([(p.users_per_account[0] + p.users_per_account[1]) / 2 for p in PERSONAS])
        account_weights = shares / mean_sizes
        account_persona = rng.choice(len(PERSONAS), size=n, p=account_weights / account_weights.sum())
        low = np.array([p.users_per_account[0] for p in PERSONAS])[account_persona]
        high = np.array([p.users_per_account[1] for p in PERSONAS])[account_persona]
        sizes = rng.integers(low, high + 1)
        ends = np.cumsum(sizes)
        used = int(np.searchsorted(ends, n) + 1)
        sizes = sizes[:used]
        sizes[-1] -= int(ends[used - 1] - n)
        account_persona = account_persona[:used]
        user_account = np.repeat(np.arange(used), sizes)
        position = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)  # 0: the account's first user
        persona = account_persona[user_account]

        account_start = rng.uniform(0, config.signup_days, size=used)
        offset = np.where(position == 0, 0.0, rng.exponential(TEAMMATE_SIGNUP_MEAN_DAYS, size=n))
        day = np.floor(np.minimum(account_start[user_account] + offset, config.signup_days - 1e-6))
        time_of_day = np.clip(rng.normal(0.55, 0.12, size=n), 0.30, 0.85)
        signup = np.minimum(day + time_of_day, config.signup_days - 1e-3)

        account_ids = [f"{config.id_prefix}-acct-{index:04d}-{a:06d}" for a in range(used)]
        account_traits = self._account_traits(account_persona, rng)
        user_ids = [f"{config.id_prefix}-user-{first + u:07d}" for u in range(n)]
        role_pick = rng.random(n)
        user_traits = []
        for u, (p, a, pos) in enumerate(zip(persona.tolist(), user_account.tolist(), position.tolist())):
            roles = PERSONAS[p].roles
            role = roles[0] if pos == 0 or len(roles) == 1 else roles[1 + int(role_pick[u] * (len(roles) - 1))]
            company = account_traits[a]
            user_traits.append({
                "persona": PERSONAS[p].key, "role": role, "plan": company["plan"], "company_size": company["size"],
                "industry": company["industry"], "email": f"{user_ids[u]}@{account_ids[a]}.example",
            })
        return Population(
            index=index, first_user=first, user_ids=user_ids, user_traits=user_traits, user_account=user_account,
            account_ids=account_ids, account_traits=account_traits, persona=persona, signup_days=signup,
        )

    def _account_traits(self, account_persona: np.ndarray, rng: np.random.Generator) -> list[dict]:
        traits = []
        pick = rng.random(len(account_persona))
        employees = rng.random(len(account_persona))
        for a, p in enumerate(account_persona.tolist()):
            persona = PERSONAS[p]
            names, weights = zip(*persona.plans)
            cumulative = np.cumsum(weights) / sum(weights)
            plan = names[min(int(np.searchsorted(cumulative, pick[a], side="right")), len(names) - 1)]
            low, high = persona.company_sizes
            traits.append({"plan": plan, "size": low + int(employees[a] * (high - low + 1)),
                           "industry": persona.industry, "persona": persona.key})
        return traits

    # --- experiments and outcomes ----------------------------------------------------------------

    def _assign(self, population: Population, units: Units, rng: np.random.Generator) -> tuple[dict, dict]:
        """Variant per user through the real hash, for users signing up while the experiments enrol."""
        variants, logged = {}, {}
        enrolled = np.flatnonzero(population.signup_days < self.config.enrol_days).tolist()
        for arm in self.arms:
            key = arm.planted.key
            chosen = np.full(len(population), -1, dtype=np.int8)
            unit_ids = units.by_arm[key]
            for u in enrolled:
                variant = self.assign(arm.salt, unit_ids[u], arm.traffic_share, arm.weights)
                chosen[u] = -1 if variant is None else variant
            lost = (chosen == 1) & (rng.random(len(population)) < arm.planted.exposure_drop)  # the planted bug
            variants[key] = chosen
            logged[key] = (chosen >= 0) & ~lost
        return variants, logged

    def _outcomes(self, persona: np.ndarray, variants: dict, rng: np.random.Generator) -> Outcomes:
        n = len(persona)

        def rate(attribute: str) -> np.ndarray:
            return np.array([getattr(p, attribute) for p in PERSONAS])[persona]

        def treated(key: str) -> np.ndarray:
            return variants[key] == 1 if key in variants else np.zeros(n, dtype=bool)

        engagement = rng.standard_normal(n)
        rho = ENGAGEMENT_CORRELATION

        def uniform() -> np.ndarray:
            return ndtr(rho * engagement + np.sqrt(1 - rho * rho) * rng.standard_normal(n))

        integrate = uniform() < rate("p_integration") + BAR_INTEGRATION_LIFT * treated("bar")
        adopt = uniform() < rate("p_adoption") + CHECKLIST_ADOPTION_LIFT * treated("checklist")
        widget = uniform() < rate("p_widget_customized") + TOUR_WIDGET_LIFT * treated(TOUR)
        retained = uniform() < np.where(adopt, rate("p_retained_if_adopted"), rate("p_retained_otherwise"))
        onboarding = rng.random(n) < rate("p_onboarding_started")
        return Outcomes(onboarding=onboarding, integrate=integrate, widget=widget, adopt=adopt, retained=retained)
