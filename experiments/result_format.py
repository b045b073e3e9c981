"""The result page's reading of a snapshot: stored outputs (``ExperimentResults.to_dict()``) turned
into formatted table cells, chart specs for ``wayline/charts.js`` and export rows.

Pure: plain dicts in, plain dicts out; no query. The only computation beyond formatting is
Fisher's exact p-value for metrics whose control rate is 0 (the stored outputs keep the counts,
not that p-value), through ``experiments.stats``.
"""
from __future__ import annotations

import math
from collections.abc import Sequence

from experiments.stats import compare_proportions

ADJUSTMENT_NAMES = {"holm": "Holm", "bh": "Benjamini–Hochberg", "none": "none"}
# Warnings that change how every number below is read come first.
WARNING_ORDER = ("srm", "not_started", "control_rate_zero", "guardrail_degraded", "peeking_without_sequential",
                 "below_planned_sample", "cluster_robust", "noncompliance", "open_windows")
CSV_COLUMNS = (
    "metric", "role", "unit", "variant", "is_control", "users", "conversions", "total", "value",
    "abs_diff", "abs_diff_ci_low", "abs_diff_ci_high", "rel_lift", "rel_lift_ci_low", "rel_lift_ci_high",
    "p_value", "seq_abs_diff_ci_low", "seq_abs_diff_ci_high", "seq_p_value", "adjusted_p_value", "adjustment",
    "chance_to_beat_control", "significant",
)


# --- numbers in words ---------------------------------------------------------------------------

def fmt_p(p: float | None) -> str:
    """0.003, 0.04, 0.52, or < 0.001; an em dash when there is none."""
    if p is None:
        return "—"
    if p < 0.001:
        return "< 0.001"
    return f"{p:.3f}" if p < 0.1 else f"{p:.2f}"


def fmt_p_phrase(p: float | None) -> str:
    """For running text: "p < 0.001" or "p = 0.03"."""
    text = fmt_p(p)
    return f"p {text}" if text.startswith("<") else f"p = {text}"


def fmt_percent(share: float | None, digits: int = 1) -> str:
    return "—" if share is None else f"{share * 100:.{digits}f} %"


def fmt_chance(chance: float | None) -> str:
    if chance is None:
        return "—"
    if chance >= 0.9995:
        return "> 99.9 %"
    if chance <= 0.0005:
        return "< 0.1 %"
    return f"{chance * 100:.1f} %"


def fmt_diff(value: float | None, *, binary: bool) -> str:
    """A signed absolute difference: +14.6 pp for rates, +0.25 per user for means."""
    if value is None:
        return "—"
    return f"{value * 100:+.1f} pp" if binary else f"{value:+.2f}"


def fmt_interval(interval: Sequence[float | None] | None, *, binary: bool, relative: bool = False) -> str:
    if not interval or interval[0] is None or interval[1] is None:
        return "—"
    low, high = interval
    if relative or binary:
        return f"{low * 100:.1f} to {high * 100:.1f}"
    return f"{low:.2f} to {high:.2f}"


def fmt_value(value: float | None, *, binary: bool) -> str:
    if value is None:
        return "—"
    return fmt_percent(value) if binary else f"{value:.2f}"


# --- the page ---------------------------------------------------------------------------------

def page_sections(outputs: dict, history: Sequence[dict] = ()) -> dict:
    """Everything the template shows, from one snapshot's outputs and earlier ones (oldest first)."""
    experiment = outputs.get("experiment", {})
    alpha = experiment.get("alpha", 0.05)
    level = f"{(1 - alpha) * 100:g} %"
    sequential = bool(experiment.get("sequential"))
    variants = outputs.get("variants", [])
    exposed = sum(v.get("users", 0) for v in variants)
    metrics = [_metric_section(metric, index, level=level, sequential=sequential)
               for index, metric in enumerate(outputs.get("metrics", []))]
    return {
        "verdict": outputs.get("verdict", ""),
        "computed_at": outputs.get("computed_at"),
        "level": level,
        "sequential": sequential,
        "exposed": exposed,
        "variants": variants,
        "warnings": warnings_for_reading(outputs),
        "metrics": metrics,
        "survival": _survival_section(outputs.get("time_to_activation")),
        "noncompliance": [
            {**row, "not_shown_text": fmt_percent(row.get("not_shown_share")),
             "render_failed_text": fmt_percent(row.get("render_failed_share"))}
            for row in outputs.get("noncompliance", [])
        ],
        "plan": _plan_section(outputs.get("plan") or {}, variants),
        "history": history_section(history, level=level),
    }


def warnings_for_reading(outputs: dict) -> list[dict]:
    """The analysis's notices, most consequential first, with the numbers a reader checks."""
    notices = list(outputs.get("warnings", []))
    notices.sort(key=lambda n: WARNING_ORDER.index(n["code"]) if n["code"] in WARNING_ORDER else len(WARNING_ORDER))
    srm = outputs.get("srm") or {}
    plan = outputs.get("plan") or {}
    shown = []
    for notice in notices:
        detail = ""
        if notice["code"] == "srm" and srm:
            names = [v["name"] for v in outputs.get("variants", [])]
            pairs = ", ".join(
                f"{name}: {observed:,} observed vs {expected:,.1f} expected"
                for name, observed, expected in zip(names, srm.get("observed", []), srm.get("expected", []), strict=False)
            )
            detail = f"SRM p-value {fmt_p(srm.get('p_value'))}. {pairs}."
        elif notice["code"] == "below_planned_sample" and plan.get("progress") is not None:
            detail = f"Progress: {plan['progress'] * 100:.0f} % of the planned sample."
        elif notice["code"] == "control_rate_zero":
            detail = _fisher_detail(notice["message"], outputs)
        shown.append({"code": notice["code"], "message": notice["message"], "detail": detail})
    return shown


def _fisher_detail(message: str, outputs: dict) -> str:
    """Fisher's exact p-value per treatment for the metric the notice names (rates only)."""
    parts = []
    for metric in outputs.get("metrics", []):
        if metric.get("unit") != "rate" or not message.startswith(f"{metric['name']}:"):
            continue
        control = metric["rows"][0]
        for row in metric["rows"][1:]:
            if not row["users"] or not control["users"]:
                continue
            fisher = compare_proportions(control["users"], control["conversions"], row["users"], row["conversions"],
                                         fisher=True).fisher_p_value
            parts.append(f"{row['name']}: Fisher's exact p = {fmt_p(fisher)}")
    return ("; ".join(parts) + ".") if parts else ""


def _metric_section(metric: dict, index: int, *, level: str, sequential: bool) -> dict:
    binary = metric.get("unit") == "rate"
    rows, labels, intervals, points = [], [], [], []
    adjustment = "none"
    for row in metric.get("rows", []):
        c = row.get("comparison")
        cells = {
            "name": row["name"], "is_control": row["is_control"], "users": f"{row['users']:,}",
            "count": f"{row['conversions']:,}" if binary and row.get("conversions") is not None else f"{row['total']:,.0f}",
            "value": fmt_value(row.get("value"), binary=binary), "open_windows": row.get("open_windows", 0),
        }
        if c is not None:
            adjustment = c.get("adjustment", adjustment)
            cells.update({
                "abs": fmt_diff(c.get("abs_diff"), binary=binary),
                "abs_ci": fmt_interval(c.get("abs_diff_ci"), binary=binary),
                "rel": "—" if c.get("rel_lift") is None else f"{c['rel_lift'] * 100:+.1f} %",
                "rel_ci": fmt_interval(c.get("rel_lift_ci"), binary=binary, relative=True),
                "p": fmt_p(c.get("p_value")), "seq_ci": fmt_interval(c.get("seq_abs_diff_ci"), binary=binary),
                "seq_p": fmt_p(c.get("seq_p_value")), "adjusted_p": fmt_p(c.get("adjusted_p_value")),
                "chance": fmt_chance(c.get("chance_to_beat_control")), "significant": c.get("significant"),
                "better": c.get("better"), "warnings": c.get("warnings", []), "method": c.get("method", ""),
            })
            interval = c.get("decision_ci")
            if interval and None not in interval and c.get("abs_diff") is not None:
                labels.append(row["name"])
                intervals.append([interval[0], interval[1]])
                points.append(c["abs_diff"])
        rows.append(cells)
    kind = "always-valid" if sequential else "fixed-horizon"
    chart = None
    if labels:
        chart = {
            "type": "interval", "labels": labels, "percent": binary,
            "title": f"{metric['name']}: difference from control with its {level} {kind} interval",
            "axis": "Difference from control (percentage points)" if binary else "Difference from control per user",
            "datasets": [{"label": f"{level} CI ({kind})", "data": intervals},
                         {"label": "Estimate", "data": points}],
        }
    return {
        "id": metric.get("metric_id", index), "name": metric["name"], "role": metric.get("role"),
        "kind": metric.get("kind"), "binary": binary, "window_days": metric.get("window_days"),
        "week_number": metric.get("week_number"), "rows": rows, "chart": chart,
        "chart_id": f"wl-metric-chart-{index}", "adjustment": adjustment,
        "adjustment_name": ADJUSTMENT_NAMES.get(adjustment, adjustment),
    }


def _survival_section(survival: dict | None) -> dict | None:
    """Share of each variant's users activated by day d (1 − Kaplan–Meier), as a stepped line."""
    if not survival or not survival.get("curves"):
        return None
    last = max([survival.get("window_days") or 0] + [t for c in survival["curves"] for t in c.get("times", [])])
    days = list(range(math.ceil(last) + 1))
    datasets, medians = [], []
    for curve in survival["curves"]:
        points, value, steps = [], 1.0, list(zip(curve.get("times", []), curve.get("survival", []), strict=False))
        for day in days:
            while steps and steps[0][0] <= day:
                value = steps.pop(0)[1]
            points.append(None if value is None else round(1.0 - value, 6))
        datasets.append({"label": curve["name"], "data": points, "stepped": True})
        low, high = (curve.get("median_ci") or [None, None])[:2]
        medians.append({
            "name": curve["name"], "n": f"{curve['n']:,}", "events": f"{curve['n_events']:,}",
            "median": "not reached" if curve.get("median_days") is None else f"{curve['median_days']:g} days",
            "median_ci": "—" if low is None and high is None else
            f"{'—' if low is None else f'{low:g}'} to {'not reached' if high is None else f'{high:g}'}",
        })
    return {
        "metric_name": survival.get("metric_name"), "window_days": survival.get("window_days"),
        "logrank_p": fmt_p_phrase(survival.get("logrank_p_value")), "warnings": survival.get("warnings", []),
        "medians": medians,
        "chart": {"type": "line", "labels": days, "percent": True, "datasets": datasets,
                  "title": f"Share of users who reached {survival.get('metric_name')} by day after exposure",
                  "xAxis": "Days after exposure", "yAxis": "Share activated"},
    }


def plan_share_text(users: int, planned: int) -> str:
    share = users / planned
    return f"{share * 100:.0f} %" if share < 10 else f"{share:.0f}× the plan"


def _plan_section(plan: dict, variants: Sequence[dict]) -> dict:
    planned = plan.get("planned_users_per_variant")
    binary = plan.get("binary", True)
    bars = [
        {"name": v["name"], "users": v.get("users", 0), "max": planned,
         "label": (f"{v['name']}: {v.get('users', 0):,} of {planned:,} planned users "
                   f"({plan_share_text(v.get('users', 0), planned)})")
                  if planned else f"{v['name']}: {v.get('users', 0):,} users"}
        for v in variants
    ]
    mde = plan.get("planned_mde")
    detectable = plan.get("detectable_now")
    return {
        **plan, "bars": bars, "planned_text": f"{planned:,}" if planned else "—", "progress_text": fmt_percent(plan.get("progress"), 0),
        "mde_text": "—" if mde is None else (f"{mde * 100:.1f} pp" if binary else f"{mde:g} per user"),
        "baseline_text": fmt_value(plan.get("baseline"), binary=binary),
        "detectable_text": None if detectable is None else (
            f"{detectable * 100:.1f} pp" if binary else f"{detectable:.2f} per user"),
    }


def history_section(history: Sequence[dict], *, level: str = "95 %") -> dict:
    """The first primary comparison over snapshots (oldest first): rows and, from two on, a chart."""
    rows = []
    for item in history:
        outputs = item.get("outputs") or {}
        metrics = outputs.get("metrics") or []
        if not metrics:
            continue
        metric = metrics[0]
        binary = metric.get("unit") == "rate"
        treatment = next((r for r in metric.get("rows", []) if r.get("comparison")), None)
        if treatment is None or treatment["comparison"].get("abs_diff") is None:
            continue
        c = treatment["comparison"]
        ci = c.get("decision_ci") or [None, None]
        rows.append({
            "computed_at": item.get("computed_at"), "computed_text": str(item.get("computed_at"))[:16].replace("T", " "),
            "metric": metric["name"], "variant": treatment["name"],
            "binary": binary, "abs_diff": c["abs_diff"], "low": ci[0], "high": ci[1],
            "abs_text": fmt_diff(c["abs_diff"], binary=binary), "ci_text": fmt_interval(ci, binary=binary),
            "users": f"{sum(r['users'] for r in metric['rows']):,}",
        })
    chart = None
    if len(rows) >= 2:
        labels = [r["computed_text"] for r in rows]
        chart = {
            "type": "line", "labels": labels, "percent": rows[-1]["binary"],
            "title": f"{rows[-1]['metric']}, {rows[-1]['variant']} against control, over time",
            "xAxis": "Computed at (UTC)", "yAxis": "Difference from control",
            "datasets": [
                {"label": "Estimate", "data": [r["abs_diff"] for r in rows]},
                {"label": f"{level} CI low", "data": [r["low"] for r in rows], "borderDash": [4, 4]},
                {"label": f"{level} CI high", "data": [r["high"] for r in rows], "borderDash": [4, 4]},
            ],
        }
    return {"rows": rows, "chart": chart}


# --- exports ----------------------------------------------------------------------------------

def csv_rows(outputs: dict) -> list[dict]:
    """One row per metric × variant with the raw numbers of the snapshot (no rounding)."""
    rows = []
    for metric in outputs.get("metrics", []):
        for row in metric.get("rows", []):
            c = row.get("comparison") or {}

            def bound(name, i, c=c):
                interval = c.get(name)
                return interval[i] if interval else None

            rows.append({
                "metric": metric["name"], "role": metric.get("role"), "unit": metric.get("unit"),
                "variant": row["name"], "is_control": row["is_control"], "users": row["users"],
                "conversions": row.get("conversions"), "total": row.get("total"), "value": row.get("value"),
                "abs_diff": c.get("abs_diff"), "abs_diff_ci_low": bound("abs_diff_ci", 0),
                "abs_diff_ci_high": bound("abs_diff_ci", 1), "rel_lift": c.get("rel_lift"),
                "rel_lift_ci_low": bound("rel_lift_ci", 0), "rel_lift_ci_high": bound("rel_lift_ci", 1),
                "p_value": c.get("p_value"), "seq_abs_diff_ci_low": bound("seq_abs_diff_ci", 0),
                "seq_abs_diff_ci_high": bound("seq_abs_diff_ci", 1), "seq_p_value": c.get("seq_p_value"),
                "adjusted_p_value": c.get("adjusted_p_value"), "adjustment": c.get("adjustment"),
                "chance_to_beat_control": c.get("chance_to_beat_control"), "significant": c.get("significant"),
            })
    return rows
