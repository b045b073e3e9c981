"""Feature adoption: who of the active users used each feature, by ISO week, and how many features.

*Active* users did any event in the range (from the ``UserDayActivity`` rollup). A feature is an
event name (default ``onboarding.journey.FEATURE_EVENTS``; any name not starting with ``$``), read
from the ``UserFeatureWeek`` rollup: a user × week row counts when a day of its mask is in range. Breadth is the distribution of how many
distinct features each active user used in the range, split by retained / churned / not yet
known (see ``activity``).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from analytics.reports import sql
from analytics.reports.activity import DEFAULT_RETENTION_WEEK, retention_status_sql
from analytics.reports.filters import Report, ReportFilters, ReportMeta, user_scope
from analytics.reports.rollups_users import in_week_range
from onboarding.journey import FEATURE_EVENTS


@dataclass(frozen=True)
class FeatureUse:
    feature: str
    users: int  # active users who did the feature event in the range
    share_of_active: float | None


@dataclass(frozen=True)
class WeeklyUse:
    week: date  # Monday of the ISO week; only days inside the range count
    active_users: int
    feature: str
    users: int
    share_of_active: float | None


@dataclass(frozen=True)
class BreadthBucket:
    features_used: int  # 0 … number of features
    retained: int
    churned: int
    not_yet_known: int


@dataclass(frozen=True)
class FeatureAdoptionReport(Report):
    meta: ReportMeta
    features: tuple[str, ...]
    retention_week: int
    active_users: int
    adoption: tuple[FeatureUse, ...]
    weekly: tuple[WeeklyUse, ...]
    breadth: tuple[BreadthBucket, ...]

    def rows(self) -> list[dict]:
        return [{"feature": f.feature, "users": f.users, "share_of_active": f.share_of_active} for f in self.adoption]


def feature_adoption_report(*, filters: ReportFilters, features: tuple[str, ...] = FEATURE_EVENTS,
                            retention_week: int = DEFAULT_RETENTION_WEEK) -> FeatureAdoptionReport:
    features = tuple(dict.fromkeys(features))
    if any(feature.startswith("$") for feature in features):
        raise ValueError("features: names starting with $ are Wayline's own events, not product features")
    scope = user_scope(filters)
    users_sql, users_params = sql.users_subquery(scope)
    range_params = [sql.date_param(filters.start), sql.date_param(filters.end)]
    active_where = f"a.application_id = %s AND a.day >= %s AND a.day <= %s AND {sql.in_users('a.user_id', users_sql)}"
    active_params = [filters.application_id, *range_params, *users_params]
    names = ", ".join(["%s"] * len(features)) or "NULL"
    in_range, range_mask_params = in_week_range("w", filters.start, filters.end)
    used = f"""SELECT w.user_id, w.name, w.week FROM analytics_userfeatureweek w
               WHERE w.application_id = %s AND w.name IN ({names}) AND {in_range}"""
    used_params = [filters.application_id, *features, *range_mask_params]

    active = sql.fetch(f"SELECT COUNT(DISTINCT a.user_id) FROM analytics_userdayactivity a WHERE {active_where}",
                       active_params)[0][0] or 0
    # Whoever did a feature event in the range was active in it, so no join with the activity rollup.
    per_feature = dict(sql.fetch(
        f"""SELECT f.name, COUNT(DISTINCT f.user_id) FROM ({used}) f
            WHERE {sql.in_users('f.user_id', users_sql)} GROUP BY f.name""",
        [*used_params, *users_params],
    ))
    week_a = sql.week_of("a.day")
    weekly_active = {sql.as_date(w): int(n) for w, n in sql.fetch(
        f"SELECT {week_a}, COUNT(DISTINCT a.user_id) FROM analytics_userdayactivity a WHERE {active_where} GROUP BY 1",
        active_params,
    )}
    weekly_used = {(sql.as_date(w), name): int(n) for w, name, n in sql.fetch(
        f"""SELECT f.week, f.name, COUNT(DISTINCT f.user_id) FROM ({used}) f
            WHERE {sql.in_users('f.user_id', users_sql)} GROUP BY 1, 2""",
        [*used_params, *users_params],
    )}
    status = retention_status_sql(user="u.id", first_seen="u.first_seen_at", week=retention_week)
    breadth_rows = sql.fetch(
        f"""SELECT COALESCE(fc.n, 0), per_user.status, COUNT(*) FROM (
                SELECT u.id, {status} AS status FROM analytics_enduser u
                WHERE u.id IN (SELECT a.user_id FROM analytics_userdayactivity a WHERE {active_where})
            ) per_user
            LEFT JOIN (SELECT f.user_id, COUNT(DISTINCT f.name) AS n FROM ({used}) f GROUP BY f.user_id) fc
              ON fc.user_id = per_user.id
            GROUP BY 1, 2""",
        [sql.date_param(filters.now.date()), *active_params, *used_params],
    )
    buckets = {n: [0, 0, 0] for n in range(len(features) + 1)}
    for n, state, count in breadth_rows:
        buckets[int(n)][{1: 0, 0: 1, None: 2}[None if state is None else int(state)]] += int(count)
    return FeatureAdoptionReport(
        meta=ReportMeta.of(filters, scope.segment_method),
        features=features, retention_week=retention_week, active_users=int(active),
        adoption=tuple(
            FeatureUse(f, int(per_feature.get(f, 0)), per_feature.get(f, 0) / active if active else None)
            for f in features
        ),
        weekly=tuple(
            WeeklyUse(week, weekly_active[week], f, weekly_used.get((week, f), 0),
                      weekly_used.get((week, f), 0) / weekly_active[week])
            for week in sorted(weekly_active) for f in features
        ),
        breadth=tuple(BreadthBucket(n, *counts) for n, counts in buckets.items()),
    )
