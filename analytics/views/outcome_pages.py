"""Pages about outcomes: guide performance, feature adoption, aha moments, NPS/CSAT, retention, revenue."""
from __future__ import annotations

from analytics.reports.adoption import FeatureAdoptionReport
from analytics.reports.aha import AhaReport
from analytics.reports.guides import OBSERVATIONAL_NOTE, GuidePerformanceReport
from analytics.reports.nps import SurveyReport
from analytics.reports.retention import RetentionReport
from analytics.reports.revenue import RevenueReport
from analytics.views.page import PageResult, ReportPage
from analytics.views.tables import Chart, Column, Section, Table, num, pct


class GuidesPage(ReportPage):
    slug = "guides"
    title = "Guide performance"
    summary = "Shown → engaged → completed or dismissed for every guide, and goal conversion (observational)."
    template = "analytics/guides.html"

    def build(self, result: GuidePerformanceReport, **_) -> PageResult:
        guides = [g for g in result.guides if g.shown]
        rows = [{"guide": g.name, "kind": g.kind, "shown": g.shown, "engaged": g.engaged, "completed": g.completed,
                 "dismissed": g.dismissed, "completion_rate": g.completion_rate,
                 "median_seconds_to_complete": g.median_seconds_to_complete} for g in guides]
        table = Table("guides", "Guides shown in the period", (
            Column("guide", "Guide"), Column("kind", "Kind"), Column("shown", "Shown", "int"),
            Column("engaged", "Engaged", "int"), Column("completed", "Completed", "int"),
            Column("dismissed", "Dismissed", "int"), Column("completion_rate", "Completion", "pct"),
            Column("median_seconds_to_complete", "Median time to complete", "duration"),
        ), rows)
        chart = Chart("chart-guides", "Shown, engaged and completed per guide", "bar", [r["guide"] for r in rows], [
            {"label": "Shown", "data": [r["shown"] for r in rows]},
            {"label": "Engaged", "data": [r["engaged"] for r in rows]},
            {"label": "Completed", "data": [r["completed"] for r in rows]},
        ])
        sections = {"guides": Section("Shown → engaged → completed", table, chart)}
        step_rows = [{"guide": g.name, "step": s.step_index + 1, "users": s.users, "drop_off": s.drop_off}
                     for g in guides for s in g.steps]
        if step_rows:
            tours = [g for g in guides if g.steps]
            longest = max(len(g.steps) for g in tours)
            steps_table = Table("steps", "Tour steps viewed", (
                Column("guide", "Tour"), Column("step", "Step", "int"), Column("users", "Users", "int"),
                Column("drop_off", "Dropped before it", "int"),
            ), step_rows)
            steps_chart = Chart("chart-steps", "Users viewing each tour step", "bar",
                                [f"Step {i + 1}" for i in range(longest)],
                                [{"label": g.name, "data": [s.users for s in g.steps]} for g in tours])
            sections["steps"] = Section("Per-step drop-off of tours", steps_table, steps_chart)
        goal_rows = [{"guide": g.name, "goal_event": g.goal.goal_event, "window_days": g.goal.window_days,
                      "seen_users": g.goal.exposed_users, "seen_rate": g.goal.exposed_rate,
                      "not_seen_users": g.goal.comparison_users, "not_seen_rate": g.goal.comparison_rate,
                      "difference": g.goal.difference} for g in guides if g.goal]
        if goal_rows:
            goal_table = Table("goals", "Goal conversion: saw the guide vs did not (observational)", (
                Column("guide", "Guide"), Column("goal_event", "Goal"), Column("window_days", "Window (days)", "int"),
                Column("seen_users", "Saw it", "int"), Column("seen_rate", "Converted (saw)", "pct"),
                Column("not_seen_users", "Did not", "int"), Column("not_seen_rate", "Converted (did not)", "pct"),
                Column("difference", "Difference", "pct"),
            ), goal_rows)
            goal_chart = Chart("chart-goals", "Goal conversion, saw vs did not see the guide", "bar",
                               [r["guide"] for r in goal_rows], [
                                   {"label": "Saw the guide", "data": [r["seen_rate"] for r in goal_rows]},
                                   {"label": "Did not see it", "data": [r["not_seen_rate"] for r in goal_rows]},
                               ], {"percent": True})
            sections["goals"] = Section("Goal conversion (observational)", goal_table, goal_chart,
                                        note=OBSERVATIONAL_NOTE)
        rated = [g for g in guides if g.completion_rate is not None]
        best = max(rated, key=lambda g: g.completion_rate) if rated else None
        takeaway = (f"{best.name} has the highest completion rate: {pct(best.completion_rate)} of the "
                    f"{best.shown:,} users who saw it completed it." if best else "")
        return PageResult(takeaway, sections, empty=None if guides else "No guide was shown in this period.")


class AdoptionPage(ReportPage):
    slug = "feature-adoption"
    title = "Feature adoption"
    summary = "Which share of active users used each feature, week by week, and how many features they used."
    template = "analytics/adoption.html"

    def build(self, result: FeatureAdoptionReport, **_) -> PageResult:
        rows = [{"feature": f.feature, "users": f.users, "share_of_active": f.share_of_active} for f in result.adoption]
        table = Table("adoption", f"Share of the {result.active_users:,} active users", (
            Column("feature", "Feature"), Column("users", "Users", "int"),
            Column("share_of_active", "Of active users", "pct"),
        ), rows)
        chart = Chart("chart-adoption", "Share of active users per feature", "bar", [r["feature"] for r in rows],
                      [{"label": "Of active users", "data": [r["share_of_active"] for r in rows]}],
                      {"percent": True, "horizontal": True})
        weeks = list(dict.fromkeys(w.week for w in result.weekly))
        weekly_rows = [{"week": w.week, "feature": w.feature, "active_users": w.active_users, "users": w.users,
                        "share_of_active": w.share_of_active} for w in result.weekly]
        weekly = Table("weekly", "Weekly adoption", (
            Column("week", "Week of", "date"), Column("feature", "Feature"),
            Column("active_users", "Active users", "int"), Column("users", "Users", "int"),
            Column("share_of_active", "Of active users", "pct"),
        ), weekly_rows)
        weekly_chart = Chart("chart-weekly", "Weekly share of active users per feature", "line",
                             [w.isoformat() for w in weeks],
                             [{"label": f, "data": [w.share_of_active for w in result.weekly if w.feature == f]}
                              for f in result.features], {"percent": True})
        breadth_rows = [{"features_used": b.features_used, "retained": b.retained, "churned": b.churned,
                         "not_yet_known": b.not_yet_known} for b in result.breadth]
        breadth = Table("breadth", f"Features used, by retention in week {result.retention_week}", (
            Column("features_used", "Features used", "int"), Column("retained", "Retained", "int"),
            Column("churned", "Churned", "int"), Column("not_yet_known", "Not yet known", "int"),
        ), breadth_rows)
        breadth_chart = Chart("chart-breadth", "Users by number of features used", "bar",
                              [str(r["features_used"]) for r in breadth_rows], [
                                  {"label": "Retained", "data": [r["retained"] for r in breadth_rows]},
                                  {"label": "Churned", "data": [r["churned"] for r in breadth_rows]},
                                  {"label": "Not yet known", "data": [r["not_yet_known"] for r in breadth_rows]},
                              ], {"stacked": True, "xAxis": "features used"})
        ranked = sorted((f for f in result.adoption if f.share_of_active is not None),
                        key=lambda f: f.share_of_active, reverse=True)
        takeaway = (f"{ranked[0].feature} is the most adopted feature ({pct(ranked[0].share_of_active)} of active "
                    f"users); {ranked[-1].feature} the least ({pct(ranked[-1].share_of_active)})." if ranked else "")
        return PageResult(takeaway, {
            "adoption": Section("Adoption per feature", table, chart),
            "weekly": Section("Weekly trend", weekly, weekly_chart),
            "breadth": Section("Breadth: retained vs churned", breadth, breadth_chart),
        }, empty=None if result.active_users else "No active users in this period.")


class AhaPage(ReportPage):
    slug = "aha"
    title = "Aha moments"
    summary = "Which early actions go together with users staying (correlation, not causation)."
    template = "analytics/aha.html"

    def build(self, result: AhaReport, **_) -> PageResult:
        rows = [{"event": a.event, "users_did": a.users_did, "retention_did": a.retention_did,
                 "users_did_not": a.users_did_not, "retention_did_not": a.retention_did_not,
                 "difference": a.difference} for a in result.actions]
        table = Table("actions", f"Retention in week {result.retention_week}: did it in the first "
                      f"{result.early_days} days vs did not", (
            Column("event", "Early action"), Column("users_did", "Did", "int"),
            Column("retention_did", "Retained (did)", "pct"), Column("users_did_not", "Did not", "int"),
            Column("retention_did_not", "Retained (did not)", "pct"), Column("difference", "Difference", "pct"),
        ), rows)
        chart = Chart("chart-actions", "Retention, did vs did not", "bar", [r["event"] for r in rows], [
            {"label": "Did", "data": [r["retention_did"] for r in rows]},
            {"label": "Did not", "data": [r["retention_did_not"] for r in rows]},
        ], {"percent": True, "horizontal": True})
        sections = {"actions": Section("Did vs did not", table, chart)}
        odds_rows = [{"event": o.event, "odds_ratio": o.odds_ratio, "ci_low": o.ci_low, "ci_high": o.ci_high,
                      "p_value": o.p_value} for o in result.odds_ratios]
        if odds_rows:
            with_ci = [r for r in odds_rows if r["ci_low"] is not None]
            odds_chart = Chart("chart-odds", "Odds ratios with 95% confidence intervals", "interval",
                               [r["event"] for r in with_ci], [
                                   {"label": "95% CI", "data": [[r["ci_low"], r["ci_high"]] for r in with_ci]},
                                   {"label": "Odds ratio", "data": [r["odds_ratio"] for r in with_ci]},
                               ], {"axis": "odds ratio (1 = no association)"}) if with_ci else None
            odds = Table("odds", "Odds ratios of retention (logistic regression, all actions together)", (
                Column("event", "Early action"), Column("odds_ratio", "Odds ratio", "num"),
                Column("ci_low", "95% CI low", "num"), Column("ci_high", "95% CI high", "num"),
                Column("p_value", "p", "p"),
            ), odds_rows)
            model_note = ("" if result.model == "logit" else
                          "The data separate perfectly, so a regularised fit was used: no confidence intervals.")
            sections["odds"] = Section("Odds ratios", odds, odds_chart, note=model_note)
        rule = result.best_rule
        takeaway = (f"Best threshold: users who did {rule.description} in their first {result.early_days} days were "
                    f"retained at {pct(rule.retention_matched)} vs {pct(rule.retention_unmatched)} for the others "
                    f"(Youden's J {rule.youden_j:.2f}) — a correlation, not a cause." if rule else "")
        note = (f"{result.sample_size:,} of {result.eligible_users:,} users whose retention is known "
                f"(overall retention {pct(result.retention_rate)}).")
        return PageResult(takeaway, sections, extra={"note": result.note, "sample": note},
                          empty=None if result.sample_size else "No users in this period whose retention is known yet.")


class NpsPage(ReportPage):
    slug = "nps"
    title = "NPS and CSAT"
    summary = "Net Promoter Score and satisfaction over time, by segment and by stage, with detractors' comments."
    template = "analytics/nps.html"

    def build(self, result: SurveyReport, **_) -> PageResult:
        periods = [{"period": p.period, "responses": p.summary.responses, "nps": p.summary.nps,
                    "ci_low": p.summary.ci_low, "ci_high": p.summary.ci_high, "promoters": p.summary.promoters,
                    "passives": p.summary.passives, "detractors": p.summary.detractors} for p in result.nps_over_time]
        labels = [r["period"].isoformat() for r in periods]
        over_time = Table("nps_over_time", f"NPS by {result.interval}", (
            Column("period", "Period", "date"), Column("responses", "Responses", "int"), Column("nps", "NPS", "num"),
            Column("ci_low", "95% CI low", "num"), Column("ci_high", "95% CI high", "num"),
        ), periods)
        interval_chart = Chart("chart-nps", "NPS with 95% confidence interval", "interval", labels, [
            {"label": "95% CI", "data": [[r["ci_low"], r["ci_high"]] for r in periods]},
            {"label": "NPS", "data": [r["nps"] for r in periods]},
        ], {"axis": "NPS (−100 to 100)"})
        mix = Table("nps_mix", "Promoters, passives and detractors", (
            Column("period", "Period", "date"), Column("promoters", "Promoters", "int"),
            Column("passives", "Passives", "int"), Column("detractors", "Detractors", "int"),
        ), periods)
        mix_chart = Chart("chart-nps-mix", "Promoters, passives and detractors", "bar", labels, [
            {"label": "Promoters", "data": [r["promoters"] for r in periods], "color": "#15803d"},
            {"label": "Passives", "data": [r["passives"] for r in periods], "color": "#475569"},
            {"label": "Detractors", "data": [r["detractors"] for r in periods], "color": "#be123c"},
        ], {"stacked": True})
        csat_rows = [{"period": p.period, "responses": p.summary.responses, "mean": p.summary.mean,
                      "ci_low": p.summary.mean_ci_low, "ci_high": p.summary.mean_ci_high,
                      "satisfied_share": p.summary.satisfied_share} for p in result.csat_over_time]
        csat = Table("csat_over_time", f"CSAT by {result.interval}", (
            Column("period", "Period", "date"), Column("responses", "Responses", "int"), Column("mean", "Mean", "num"),
            Column("ci_low", "95% CI low", "num"), Column("ci_high", "95% CI high", "num"),
            Column("satisfied_share", "Satisfied (4–5)", "pct"),
        ), csat_rows)
        csat_chart = Chart("chart-csat", "CSAT mean with 95% confidence interval", "interval",
                           [r["period"].isoformat() for r in csat_rows if r["ci_low"] is not None], [
                               {"label": "95% CI", "data": [[r["ci_low"], r["ci_high"]] for r in csat_rows
                                                            if r["ci_low"] is not None]},
                               {"label": "Mean", "data": [r["mean"] for r in csat_rows if r["ci_low"] is not None]},
                           ], {"axis": "CSAT (1 to 5)"})
        group_columns = (Column("group", "Group"), Column("nps_responses", "NPS answers", "int"),
                         Column("nps", "NPS", "num"), Column("csat_responses", "CSAT answers", "int"),
                         Column("csat_mean", "CSAT mean", "num"))

        def group_rows(groups):
            return [{"group": g.group or "(unknown)", "nps_responses": g.nps.responses, "nps": g.nps.nps,
                     "csat_responses": g.csat.responses, "csat_mean": g.csat.mean} for g in groups]

        by_segment = Table("by_segment", "By persona", group_columns, group_rows(result.by_segment))
        by_stage = Table("by_stage", "By stage at the time of answering", group_columns, group_rows(result.by_stage))
        comments = [{"kind": f.kind.upper(), "score": f.score, "stage": f.stage_slug, "responded_at": f.responded_at,
                     "comment": f.comment} for f in result.detractor_follow_ups]
        comments_table = Table("comments", "Detractors' comments, most recent first", (
            Column("responded_at", "Answered", "date"), Column("kind", "Survey"), Column("score", "Score", "int"),
            Column("stage", "Stage"), Column("comment", "Comment"),
        ), comments)
        sections = {
            "nps_over_time": Section("NPS over time", over_time, interval_chart),
            "nps_mix": Section("Promoters, passives, detractors", mix, mix_chart),
            "by_segment": Section("By persona", by_segment, empty="No persona segments."),
            "by_stage": Section("By stage", by_stage),
            "comments": Section("Detractors' comments", comments_table, empty="No detractor left a comment."),
        }
        if csat_rows:
            sections["csat_over_time"] = Section("CSAT over time", csat, csat_chart)
        parts = []
        if result.nps.responses:
            parts.append(f"NPS is {num(result.nps.nps, 0)} (95% CI {num(result.nps.ci_low, 0)} to "
                         f"{num(result.nps.ci_high, 0)}) from {result.nps.responses:,} answers"
                         + (f", a {pct(result.nps_response_rate, 0)} response rate" if result.nps_response_rate
                            is not None else ""))
        if result.csat.responses:
            parts.append(f"CSAT averages {num(result.csat.mean, 2)} of 5 from {result.csat.responses:,} answers")
        takeaway = "; ".join(parts) + "." if parts else ""
        answered = result.nps.responses + result.csat.responses
        return PageResult(takeaway, sections, empty=None if answered else "No survey answers in this period.")


class RetentionPage(ReportPage):
    slug = "retention"
    title = "Retention and churn"
    summary = "Weekly cohorts' retention as a heat map, and churn by month."
    template = "analytics/retention.html"

    def build(self, result: RetentionReport, **_) -> PageResult:
        cohort_rows = []
        for cohort in result.cohorts:
            row = {"cohort_week": cohort.cohort_week, "users": cohort.users}
            row.update({f"week_{c.week}": c.share if c.complete else None for c in cohort.cells})
            cohort_rows.append(row)
        cohorts = Table("cohorts", "Share of each weekly cohort active N weeks after first seen", (
            Column("cohort_week", "Cohort (week of)", "date"), Column("users", "Users", "int"),
            *(Column(f"week_{k}", f"Week {k}", "heat") for k in range(result.weeks + 1)),
        ), cohort_rows)
        churn_rows = [{"month": m.month, "active_at_start": m.active_at_start, "churned": m.churned,
                       "churn_rate": m.churn_rate, "complete": "yes" if m.complete else "no"} for m in result.churn]
        churn = Table("churn", f"Churn by month (inactive for {result.inactive_days} days)", (
            Column("month", "Month", "date"), Column("active_at_start", "Active at start", "int"),
            Column("churned", "Churned", "int"), Column("churn_rate", "Churn rate", "pct"),
            Column("complete", "Month over"),
        ), churn_rows)
        churn_chart = Chart("chart-churn", "Monthly churn rate", "bar", [r["month"].strftime("%Y-%m") for r in churn_rows],
                            [{"label": "Churn rate", "data": [r["churn_rate"] for r in churn_rows]}], {"percent": True})
        segment_rows = [{"segment": s.segment, "active_at_start": s.active_at_start, "churned": s.churned,
                         "churn_rate": s.churn_rate} for s in result.churn_by_segment]
        by_segment = Table("churn_by_segment", "Churn by persona (months summed)", (
            Column("segment", "Persona"), Column("active_at_start", "Active at start", "int"),
            Column("churned", "Churned", "int"), Column("churn_rate", "Churn rate", "pct"),
        ), segment_rows)
        week_one = [(c.users, c.cells[1].active_users) for c in result.cohorts if len(c.cells) > 1 and c.cells[1].complete]
        total = sum(users for users, _ in week_one)
        takeaway = (f"{pct(sum(active for _, active in week_one) / total)} of the users first seen in the period "
                    f"came back in their second week (week 1)." if total else "")
        return PageResult(takeaway, {
            "cohorts": Section("Weekly cohorts", cohorts, note="Blank cells: that week is not over yet for the cohort."),
            "churn": Section("Churn by month", churn, churn_chart),
            "churn_by_segment": Section("Churn by persona", by_segment, empty="No persona segments."),
        }, empty=None if result.cohorts else "No users entered in this period.")


class RevenuePage(ReportPage):
    slug = "revenue"
    title = "Revenue and lifetime value"
    summary = "ARPU and paying users by month, churn of payers, and lifetime value by persona and cohort."
    template = "analytics/revenue.html"

    def build(self, result: RevenueReport, **_) -> PageResult:
        rows = [{"month": m.month, "revenue": m.revenue, "paying_users": m.paying_users, "arpu": m.arpu,
                 "churn_rate": m.churn_rate} for m in result.months]
        months = Table("months", "Revenue by month", (
            Column("month", "Month", "date"), Column("revenue", "Revenue", "money"),
            Column("paying_users", "Paying users", "int"), Column("arpu", "ARPU", "money"),
            Column("churn_rate", "Payer churn", "pct"),
        ), rows)
        labels = [r["month"].strftime("%Y-%m") for r in rows]
        arpu_chart = Chart("chart-arpu", "ARPU by month", "line", labels,
                           [{"label": "ARPU", "data": [r["arpu"] for r in rows]}])
        churn_chart = Chart("chart-payer-churn", "Payer churn by month", "bar", labels,
                            [{"label": "Payer churn", "data": [r["churn_rate"] for r in rows]}], {"percent": True})
        churn_table = Table("payer_churn", "Payers of the previous month who did not pay", (
            Column("month", "Month", "date"), Column("previous_paying_users", "Paid the month before", "int"),
            Column("churned_users", "Did not pay", "int"), Column("churn_rate", "Churn", "pct"),
        ), [{"month": m.month, "previous_paying_users": m.previous_paying_users, "churned_users": m.churned_users,
             "churn_rate": m.churn_rate} for m in result.months])
        group_columns = (Column("group", "Group"), Column("users", "Users", "int"),
                         Column("revenue", "Revenue", "money"), Column("arpu", "ARPU", "money"),
                         Column("monthly_churn", "Monthly churn", "pct"),
                         Column("expected_lifetime_months", "Lifetime (months)", "num"), Column("clv", "CLV", "money"))

        def group_rows(groups):
            return [{"group": g.group, "users": g.users, "revenue": g.summary.revenue, "arpu": g.summary.arpu,
                     "monthly_churn": g.summary.monthly_churn,
                     "expected_lifetime_months": g.summary.expected_lifetime_months, "clv": g.summary.clv}
                    for g in groups]

        segment_rows = group_rows(result.by_segment)
        by_segment = Table("clv_by_segment", "Lifetime value by persona", group_columns, segment_rows)
        clv_chart = Chart("chart-clv", "CLV by persona", "bar", [r["group"] for r in segment_rows],
                          [{"label": "CLV", "data": [r["clv"] for r in segment_rows]}])
        by_cohort = Table("clv_by_cohort", "Lifetime value by monthly cohort (first seen)", group_columns,
                          group_rows(result.by_cohort))
        s = result.summary
        takeaway = (f"ARPU is {num(s.arpu, 2)} per paying user per month with {pct(s.monthly_churn)} monthly payer churn"
                    + (f", so a paying user is worth about {num(s.clv, 2)} over {num(s.expected_lifetime_months)} months."
                       if s.clv is not None else "; lifetime value needs a complete month with churn.")
                    if s.arpu is not None else "")
        paid = any(m.paying_users for m in result.months)
        return PageResult(takeaway, {
            "months": Section("ARPU by month", months, arpu_chart),
            "payer_churn": Section("Payer churn", churn_table, churn_chart),
            "clv_by_segment": Section("CLV by persona", by_segment, clv_chart, empty="No persona segments."),
            "clv_by_cohort": Section("CLV by cohort", by_cohort, empty="No cohort paid in this period."),
        }, empty=None if paid else f"No {result.event} events in this period.")


OUTCOME_PAGES = (GuidesPage(), AdoptionPage(), AhaPage(), NpsPage(), RetentionPage(), RevenuePage())
