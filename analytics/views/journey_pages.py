"""Pages about the journey itself: funnel, time in stage, paths and the per-persona journey map."""
from __future__ import annotations

from analytics.reports.funnel import FunnelReport
from analytics.reports.journey_map import JourneyMapReport
from analytics.reports.paths import PathsReport
from analytics.reports.time_in_stage import TimeInStageReport
from analytics.views.page import PageResult, ReportPage
from analytics.views.tables import Chart, Column, Section, Table, duration, pct

NO_USERS = "No users entered in this period."


class FunnelPage(ReportPage):
    slug = "funnel"
    title = "Journey funnel"
    summary = "How far the users who arrived in the period got through the journey stages."
    template = "analytics/funnel.html"

    def build(self, result: FunnelReport, **_) -> PageResult:
        rows = [{"stage": s.name, "users": s.users, "conversion_from_previous": s.conversion_from_previous,
                 "conversion_overall": s.conversion_overall, "drop_off": s.drop_off, "main_friction": s.is_main_friction}
                for s in result.steps]
        table = Table("steps", "Step conversion", (
            Column("stage", "Stage"), Column("users", "Users", "int"),
            Column("conversion_from_previous", "From previous", "pct"),
            Column("conversion_overall", "Of cohort", "pct"), Column("drop_off", "Lost", "int"),
        ), rows, highlight=lambda row: row["main_friction"])
        chart = Chart("chart-funnel", "Users per stage", "bar", [r["stage"] for r in rows],
                      [{"label": "Users", "data": [r["users"] for r in rows]}])
        friction = next((s for s in result.steps if s.is_main_friction), None)
        takeaway = ""
        if friction is not None:
            index = result.steps.index(friction)
            takeaway = (f"The main friction point is the step from {result.steps[index - 1].name} to {friction.name}: "
                        f"only {pct(friction.conversion_from_previous)} get there ({friction.drop_off:,} users lost).")
        return PageResult(takeaway, {"steps": Section("Users per stage", table, chart)},
                          empty=None if result.cohort_size else NO_USERS,
                          extra={"cohort_size": result.cohort_size})


class TimeInStagePage(ReportPage):
    slug = "time-in-stage"
    title = "Time in stage"
    summary = "How long users stay in each stage (Kaplan–Meier, users still in a stage count as censored)."
    template = "analytics/time_in_stage.html"

    def build(self, result: TimeInStageReport, **_) -> PageResult:
        rows = [{"stage": s.name, "entries": s.survival.entries, "finished": s.survival.finished,
                 "censored": s.survival.censored, "p25_seconds": s.survival.p25_seconds,
                 "median_seconds": s.survival.median_seconds, "p75_seconds": s.survival.p75_seconds,
                 "slug": s.slug}
                for s in result.stages]
        table = Table("stages", "Time in stage (Kaplan–Meier)", (
            Column("stage", "Stage"), Column("entries", "Entries", "int"), Column("finished", "Moved on", "int"),
            Column("censored", "Still there", "int"), Column("p25_seconds", "25th pct", "duration"),
            Column("median_seconds", "Median", "duration"), Column("p75_seconds", "75th pct", "duration"),
        ), rows, highlight=lambda row: row["slug"] == result.longest_stage)
        chart = Chart("chart-time", "Median days in stage", "bar", [r["stage"] for r in rows],
                      [{"label": "Median days", "data": [_days(r["median_seconds"]) for r in rows]}],
                      {"yAxis": "days"})
        sections = {"stages": Section("Median time in each stage", table, chart)}
        if result.compared_segments:
            groups = [g.group for s in result.stages for g in s.by_segment]
            names = list(dict.fromkeys(groups))
            compare_rows = []
            for stage in result.stages:
                row = {"stage": stage.name, "logrank_p_value": stage.logrank_p_value}
                for group in stage.by_segment:
                    row[f"median_{group.group}"] = group.survival.median_seconds
                compare_rows.append(row)
            compare = Table("segments", "Median time by segment, with the log-rank test", (
                Column("stage", "Stage"),
                *(Column(f"median_{name}", f"Median: {name}", "duration") for name in names),
                Column("logrank_p_value", "Log-rank p", "p"),
            ), compare_rows)
            compare_chart = Chart("chart-time-segments", "Median days in stage by segment", "bar",
                                  [r["stage"] for r in compare_rows],
                                  [{"label": name, "data": [_days(r.get(f"median_{name}")) for r in compare_rows]}
                                   for name in names], {"yAxis": "days"})
            sections["segments"] = Section("Segments compared", compare, compare_chart,
                                           note="A small log-rank p means the segments' time-in-stage curves differ.")
        longest = next((s for s in result.stages if s.slug == result.longest_stage), None)
        takeaway = (f"Users linger longest in {longest.name} (median {duration(longest.survival.median_seconds)})."
                    if longest else "")
        entries = sum(s.survival.entries for s in result.stages)
        return PageResult(takeaway, sections, empty=None if entries else "No stage entries in this period.")


def _days(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds / 86_400, 2)


class PathsPage(ReportPage):
    slug = "paths"
    title = "Journey paths"
    summary = "The most common sequences of stages and guides, for users who reached the target stage and not."
    template = "analytics/paths.html"

    def build(self, result: PathsReport, **_) -> PageResult:
        sections = {}
        for key, caption, paths, total in (
            ("converted", f"Reached {result.target_stage}", result.converted, result.converted_users),
            ("not_converted", f"Did not reach {result.target_stage}", result.not_converted, result.not_converted_users),
        ):
            rows = [{"path": p.text, "users": p.users, "share": p.share} for p in paths]
            table = Table(key, f"Top paths: {caption.lower()} ({total:,} users)", (
                Column("path", "Path"), Column("users", "Users", "int"), Column("share", "Share", "pct"),
            ), rows)
            chart = Chart(f"chart-paths-{key}", f"Share of users per path: {caption.lower()}", "bar",
                          [f"#{i + 1}" for i in range(len(rows))],
                          [{"label": "Share of users", "data": [r["share"] for r in rows]}],
                          {"percent": True, "horizontal": True})
            sections[key] = Section(caption, table, chart, empty="No users in this group.")
        top = result.converted[0] if result.converted else None
        takeaway = (f"The most common path to {result.target_stage} is {top.text} "
                    f"({pct(top.share)} of the users who got there)." if top else "")
        note = (f"Sampled {result.sample_size:,} users (at most {result.sample_cap:,}); paths keep at most "
                f"{result.max_steps} steps. Bars are numbered as the table's rows.")
        return PageResult(takeaway, sections, empty=None if result.sample_size else NO_USERS, extra={"note": note})


class JourneyMapPage(ReportPage):
    slug = "journey-map"
    title = "Journey map"
    summary = "Per persona, each stage left to right: users, conversion, time, guides, sentiment and pain points."
    template = "analytics/journey_map.html"

    def build(self, result: JourneyMapReport, *, request, **_) -> PageResult:
        personas = list(result.personas)
        chosen = next((p for p in personas if p.persona == request.GET.get("persona")), personas[0] if personas else None)
        sections = {}
        if chosen is not None:
            rows = [{"stage": s.name, "users_now": s.users_now, "reached": s.reached,
                     "conversion_to_next": s.conversion_to_next, "stall_share": s.stall_share,
                     "median_seconds_in_stage": s.median_seconds_in_stage,
                     "guides": "; ".join(f"{g.name} ({pct(g.completion_rate, 0)} complete)" for g in s.guides),
                     "nps": s.nps, "csat_mean": s.csat_mean, "biggest": s.is_biggest_drop_off}
                    for s in chosen.stages]
            table = Table("map", f"Journey map: {chosen.persona}", (
                Column("stage", "Stage"), Column("users_now", "Users now", "int"), Column("reached", "Reached", "int"),
                Column("conversion_to_next", "To next stage", "pct"), Column("stall_share", "Stall here", "pct"),
                Column("median_seconds_in_stage", "Median time", "duration"), Column("guides", "Guides"),
                Column("nps", "NPS", "num"), Column("csat_mean", "CSAT", "num"),
            ), rows, highlight=lambda row: row["biggest"])
            sections["map"] = Section("Stages as a table", table)
        cells = [{"conversion": pct(s.conversion_to_next) if s.conversion_to_next is not None else "— (last stage)",
                  "median": duration(s.median_seconds_in_stage), "emotion": _emotion(s)}
                 for s in (chosen.stages if chosen is not None else ())]
        empty = None if chosen is not None and chosen.cohort_size else NO_USERS
        takeaway = f"Opportunity: {chosen.opportunity}." if chosen is not None and chosen.opportunity else ""
        return PageResult(takeaway, sections, empty=empty, extra={"personas": personas, "chosen": chosen, "cells": cells})


def _emotion(stage) -> str:
    parts = []
    if stage.nps_responses:
        parts.append(f"NPS {stage.nps:.0f} ({stage.nps_responses} answers)")
    if stage.csat_responses:
        parts.append(f"CSAT {stage.csat_mean:.1f} ({stage.csat_responses} answers)")
    return "; ".join(parts) or "no answers"


JOURNEY_PAGES = (FunnelPage(), TimeInStagePage(), PathsPage(), JourneyMapPage())
