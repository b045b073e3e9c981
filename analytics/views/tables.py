"""Tables and charts of the journey analytics pages: display formats, CSV export, chart specs.

A page builds ``Section``s — a ``Table`` (the text alternative) with an optional chart spec in
the shape ``wayline/static/wayline/charts.js`` draws — and the same ``Table`` is exported as CSV,
so what is shown and what is downloaded never differ.
"""
from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.http import HttpResponse

DASH = "—"


def pct(value: float | None, digits: int = 1) -> str:
    return DASH if value is None else f"{100 * value:.{digits}f}%"


def num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return DASH
    if isinstance(value, int) or float(value).is_integer() and digits == 0:
        return f"{int(value):,}"
    return f"{value:,.{digits}f}"


def duration(seconds: float | None) -> str:
    """Seconds as the largest sensible unit: "45 seconds", "12 minutes", "3.1 hours", "6.2 days"."""
    if seconds is None:
        return DASH
    if seconds < 60:
        return f"{seconds:.0f} seconds"
    if seconds < 3600:
        return f"{seconds / 60:.0f} minutes"
    if seconds < 86_400:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds / 86_400:.1f} days"


def p_value(value: float | None) -> str:
    if value is None:
        return DASH
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


FORMATS: dict[str, Callable[[Any], str]] = {
    "text": lambda v: DASH if v is None or v == "" else str(v),
    "int": lambda v: num(v, 0),
    "num": num,
    "money": lambda v: num(v, 2),
    "pct": pct,
    "duration": duration,
    "p": p_value,
    "date": lambda v: v.isoformat() if isinstance(v, (date, datetime)) else str(v),
}


@dataclass(frozen=True)
class Column:
    key: str  # the CSV header
    label: str  # the table header
    kind: str = "text"  # a key of FORMATS, or "heat" (a share drawn as a heat-map cell)

    @property
    def numeric(self) -> bool:
        return self.kind not in ("text", "date")


@dataclass(frozen=True)
class Cell:
    text: str
    numeric: bool
    style: str = ""


@dataclass(frozen=True)
class Table:
    key: str  # the ``export`` parameter that downloads it
    caption: str
    columns: tuple[Column, ...]
    rows: list[dict]
    highlight: Callable[[dict], bool] = lambda row: False  # rows drawn with ``wl-highlight``

    def display_rows(self) -> list[dict]:
        return [
            {"highlight": self.highlight(row), "cells": [self._cell(column, row.get(column.key)) for column in self.columns]}
            for row in self.rows
        ]

    @staticmethod
    def _cell(column: Column, value: Any) -> Cell:
        if column.kind == "heat":
            if value is None:
                return Cell(DASH, True)
            # Indigo over white, at most 60 % opaque, so the dark text keeps a contrast above 7:1.
            return Cell(pct(value, 0), True, f"background-color: rgba(79, 70, 229, {0.6 * min(max(value, 0), 1):.2f}); color: #111827")
        return Cell(FORMATS[column.kind](value), column.numeric)

    def csv_response(self, filename: str) -> HttpResponse:
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([column.key for column in self.columns])
        for row in self.rows:
            writer.writerow([_csv_value(row.get(column.key)) for column in self.columns])
        response = HttpResponse(out.getvalue(), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response


def _csv_value(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


@dataclass(frozen=True)
class Chart:
    """A chart spec for charts.js; ``labels`` empty means nothing to draw."""

    id: str
    title: str
    type: str
    labels: list
    datasets: list[dict]
    options: dict = field(default_factory=dict)  # percent, stacked, horizontal, xAxis, yAxis, axis

    @property
    def spec(self) -> dict:
        return {"type": self.type, "title": self.title, "labels": self.labels, "datasets": self.datasets,
                **self.options}


@dataclass(frozen=True)
class Section:
    title: str
    table: Table
    chart: Chart | None = None
    note: str = ""
    empty: str = "Nothing to show for this period."
