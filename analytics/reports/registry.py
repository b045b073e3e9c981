"""The reports the API serves, with the options each one accepts from a query string."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from analytics.reports.adoption import feature_adoption_report
from analytics.reports.aha import aha_report
from analytics.reports.funnel import funnel_report
from analytics.reports.guides import guide_performance_report
from analytics.reports.journey_map import journey_map_report
from analytics.reports.nps import INTERVALS, survey_report
from analytics.reports.paths import paths_report
from analytics.reports.retention import retention_report
from analytics.reports.revenue import revenue_report
from analytics.reports.time_in_stage import time_in_stage_report


@dataclass(frozen=True)
class Option:
    """A query-string option: ``kind`` is int, str, ints (comma-separated) or strs."""

    param: str  # name in the query string
    argument: str  # keyword argument of the report function
    kind: str
    low: int | None = None
    high: int | None = None
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ReportSpec:
    name: str
    build: Callable[..., Any]
    options: tuple[Option, ...] = ()
    variant_filter: bool = True  # accepts the experiment-variant filter


REPORTS: dict[str, ReportSpec] = {spec.name: spec for spec in (
    ReportSpec("funnel", funnel_report),
    ReportSpec("time-in-stage", time_in_stage_report, (
        Option("compare", "compare_segment_ids", "ints"),
        Option("resolution_seconds", "resolution_seconds", "int", 1, 86_400),
    )),
    ReportSpec("guides", guide_performance_report, (
        Option("guide", "guide_ids", "ints"),
        Option("goal_window_days", "goal_window_days", "int", 1, 90),
    )),
    ReportSpec("feature-adoption", feature_adoption_report, (
        Option("features", "features", "strs"),
        Option("retention_week", "retention_week", "int", 1, 52),
    )),
    ReportSpec("aha", aha_report, (
        Option("events", "candidates", "strs"),
        Option("early_days", "early_days", "int", 1, 60),
        Option("retention_week", "retention_week", "int", 1, 52),
        Option("sample_cap", "sample_cap", "int", 100, 50_000),
    )),
    ReportSpec("nps", survey_report, (
        Option("interval", "interval", "str", choices=INTERVALS),
        Option("guide", "guide_id", "int", 1, None),
        Option("follow_ups", "follow_ups", "int", 0, 200),
    )),
    ReportSpec("retention", retention_report, (
        Option("weeks", "weeks", "int", 1, 52),
        Option("inactive_days", "inactive_days", "int", 1, 365),
    )),
    ReportSpec("paths", paths_report, (
        Option("target_stage", "target_stage", "str"),
        Option("top", "top", "int", 1, 100),
        Option("max_steps", "max_steps", "int", 2, 20),
        Option("sample_cap", "sample_cap", "int", 100, 50_000),
    )),
    # Per persona and served from a snapshot: a variant would mean a computation per page view.
    ReportSpec("journey-map", journey_map_report, variant_filter=False),
    ReportSpec("revenue", revenue_report, (
        Option("event", "event", "str"),
        Option("amount_property", "amount_property", "str"),
    )),
)}


def parse_options(spec: ReportSpec, query: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments for ``spec.build`` from a query string; ``ValueError`` names a bad one."""
    arguments: dict[str, Any] = {}
    for option in spec.options:
        raw = query.get(option.param)
        if raw is None or raw == "":
            continue
        try:
            if option.kind == "int":
                value: Any = int(raw)
                if (option.low is not None and value < option.low) or (option.high is not None and value > option.high):
                    raise ValueError
            elif option.kind == "ints":
                value = tuple(int(part) for part in raw.split(",") if part.strip())
            elif option.kind == "strs":
                value = tuple(part.strip() for part in raw.split(",") if part.strip())
                if not value or any(len(part) > 200 for part in value):
                    raise ValueError
            else:
                value = raw.strip()
                if len(value) > 200 or (option.choices and value not in option.choices):
                    raise ValueError
        except ValueError:
            bounds = f" between {option.low} and {option.high}" if option.low is not None else ""
            choices = f" one of {', '.join(option.choices)}" if option.choices else ""
            raise ValueError(f"{option.param}: invalid value {raw[:40]!r}; expected {option.kind}{bounds}{choices}")
        arguments[option.argument] = value
    return arguments
