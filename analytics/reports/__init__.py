"""Journey analytics reports: one small module per report, each a pure read over SQL aggregates.

Every report takes ``ReportFilters`` (application, date range, segment, now) plus its own
options and returns a frozen dataclass with ``to_dict()`` (JSON) and ``rows()`` (CSV). The
``registry`` module lists them for the JSON API.
"""
