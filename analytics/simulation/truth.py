"""The effects planted in the simulated data: what analysis must find, as frozen dataclasses and JSON.

Every number here is a *population* value of the generating process, not a sample statistic:
the generated sample varies around it, and checks ask whether the reported 95 % interval
contains it. ``truth_build`` derives the values from the personas and the effect sizes below;
``truth_write`` stores them beside the data (``var/truth.json`` for the demo).
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

from analytics.simulation.personas import PERSONAS, population_rate

# Planted effect sizes (absolute, on the probability scale, for every persona alike).
BAR_INTEGRATION_LIFT = 0.15  # the integration bar: 42 % → 57 % connect an integration
CHECKLIST_ADOPTION_LIFT = 0.04  # the onboarding checklist: +4 points reach adoption
TOUR_WIDGET_LIFT = 0.03  # the widget tour: +3 points customise the widget
TOUR_ACTIVATION_DELAY_FACTOR = 0.6  # …and the integration (activation) comes 40 % sooner
SRM_EXPOSURE_DROP = 0.08  # the tour experiment "loses" 8 % of treatment exposures (a logging bug)
RETAINED_FEATURES = (5, 7)  # distinct features retained users use (mean inside this range)
CHURNED_FEATURES = (3, 4)
METRIC_WINDOW_DAYS = 14

BAR, CHECKLIST, AA, TOUR = "bar", "checklist", "aa", "tour"


@dataclass(frozen=True)
class PlantedExperiment:
    """One simulated experiment: two arms, a binary metric, and what the analysis must conclude."""

    key: str  # BAR, CHECKLIST, AA or TOUR
    name: str
    hypothesis: str
    treatment_guide: str | None  # the demo guide shown in the treatment arm ("bar", "tour"…); None: A/A
    metric_name: str
    metric_event: str | None  # conversion = did this event within the window after exposure…
    metric_stage: str | None  # …or reached this journey stage (or a later one) within the window
    window_days: int
    control_rate: float
    treatment_rate: float
    exposure_drop: float = 0.0  # share of treatment users whose exposure is never logged (SRM)
    traffic_share: float = 1.0
    weights: tuple[float, float] = (0.5, 0.5)
    variants: tuple[str, str] = ("control", "treatment")

    @property
    def absolute_lift(self) -> float:
        return self.treatment_rate - self.control_rate

    @property
    def relative_lift(self) -> float:
        return self.absolute_lift / self.control_rate

    @property
    def expect_winner(self) -> bool:
        return self.absolute_lift != 0

    @property
    def expect_srm(self) -> bool:
        return self.exposure_drop > 0


@dataclass(frozen=True)
class Truth:
    seed: int
    users: int
    start: datetime  # first possible sign-up
    end: datetime  # the simulated "now": no event is later
    signup_days: int  # users sign up uniformly over this many days from ``start``
    enrol_days: int  # experiments enrol users signing up in the first this-many days
    experiments: tuple[PlantedExperiment, ...]
    tour_widget_lift: float = TOUR_WIDGET_LIFT
    tour_activation_delay_factor: float = TOUR_ACTIVATION_DELAY_FACTOR
    onboarding_longest_persona: str = ""
    onboarding_median_days: dict[str, float] = field(default_factory=dict)
    retained_features: tuple[int, int] = RETAINED_FEATURES
    churned_features: tuple[int, int] = CHURNED_FEATURES
    persona_shares: dict[str, float] = field(default_factory=dict)

    def experiment(self, key: str) -> PlantedExperiment:
        return next(experiment for experiment in self.experiments if experiment.key == key)


def planted_experiments(*, srm_exposure_drop: float = SRM_EXPOSURE_DROP) -> tuple[PlantedExperiment, ...]:
    integration = population_rate("p_integration")
    adoption = population_rate("p_adoption")
    widget = population_rate("p_widget_customized")
    window = METRIC_WINDOW_DAYS
    return (
        PlantedExperiment(
            key=BAR, name="Integration bar", treatment_guide="bar",
            hypothesis="A bar pointing at the integration button gets more new users to connect one.",
            metric_name=f"Connected an integration within {window} days", metric_event="integration_connected",
            metric_stage=None, window_days=window,
            control_rate=integration, treatment_rate=integration + BAR_INTEGRATION_LIFT,
        ),
        PlantedExperiment(
            key=CHECKLIST, name="Onboarding checklist", treatment_guide="checklist",
            hypothesis="A getting-started checklist gets more users to adopt five features.",
            metric_name=f"Reached adoption within {window} days", metric_event=None, metric_stage="adoption",
            window_days=window, control_rate=adoption, treatment_rate=adoption + CHECKLIST_ADOPTION_LIFT,
        ),
        PlantedExperiment(
            key=AA, name="Welcome copy (A/A)", treatment_guide=None,
            hypothesis="Two identical experiences: the analysis must not find a difference.",
            metric_name=f"Connected an integration within {window} days", metric_event="integration_connected",
            # Its users are in the bar experiment too (independent salts): half of them see the bar.
            metric_stage=None, window_days=window, control_rate=integration + BAR_INTEGRATION_LIFT / 2,
            treatment_rate=integration + BAR_INTEGRATION_LIFT / 2, traffic_share=0.5,
        ),
        PlantedExperiment(
            key=TOUR, name="Widget tour", treatment_guide="tour",
            hypothesis="A tooltip tour on widget customisation gets more users to customise it.",
            metric_name=f"Customised the widget within {window} days", metric_event="widget_customized",
            metric_stage=None, window_days=window, control_rate=widget, treatment_rate=widget + TOUR_WIDGET_LIFT,
            exposure_drop=srm_exposure_drop,
        ),
    )


def truth_build(*, seed: int, users: int, start: datetime, end: datetime, signup_days: int,
                enrol_days: int, srm_exposure_drop: float = SRM_EXPOSURE_DROP) -> Truth:
    medians = {persona.key: persona.integration_median_days for persona in PERSONAS}
    return Truth(
        seed=seed, users=users, start=start, end=end, signup_days=signup_days, enrol_days=enrol_days,
        experiments=planted_experiments(srm_exposure_drop=srm_exposure_drop),
        onboarding_longest_persona=max(medians, key=medians.get),
        onboarding_median_days=medians,
        persona_shares={persona.key: persona.user_share for persona in PERSONAS},
    )


def truth_to_dict(truth: Truth) -> dict:
    data = asdict(truth)
    data["start"], data["end"] = truth.start.isoformat(), truth.end.isoformat()
    for planted, row in zip(truth.experiments, data["experiments"]):
        row.update(absolute_lift=planted.absolute_lift, relative_lift=planted.relative_lift,
                   expect_winner=planted.expect_winner, expect_srm=planted.expect_srm)
    return data


def truth_from_dict(data: dict) -> Truth:
    derived = {"absolute_lift", "relative_lift", "expect_winner", "expect_srm"}
    experiments = tuple(
        PlantedExperiment(**{
            key: tuple(value) if isinstance(value, list) else value
            for key, value in row.items() if key not in derived
        })
        for row in data["experiments"]
    )
    return Truth(**{
        **data,
        "start": datetime.fromisoformat(data["start"]),
        "end": datetime.fromisoformat(data["end"]),
        "experiments": experiments,
        "retained_features": tuple(data["retained_features"]),
        "churned_features": tuple(data["churned_features"]),
    })


def truth_write(truth: Truth, path: Path, **extra) -> None:
    """Write the truth as JSON; ``extra`` keys (e.g. the loaded counts) are stored beside it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {**truth_to_dict(truth), **extra}
    path.write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")


def truth_read(path: Path) -> tuple[Truth, dict]:
    """The truth and the extra keys written with it."""
    data = json.loads(path.read_text())
    known = {f for f in Truth.__dataclass_fields__}
    return truth_from_dict({k: v for k, v in data.items() if k in known}), {
        k: v for k, v in data.items() if k not in known
    }
