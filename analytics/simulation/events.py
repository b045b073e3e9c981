"""Columnar simulated events: a builder that collects them as numpy arrays, and their output forms.

Events are kept as parallel arrays (user index, name code, time, property code, page code) until
written: as dicts for the ingest validator (demo size) or as ``COPY`` text lines (scale size).
Properties come from a finite catalogue (every guide event, score and amount is one of a few
values), so each distinct property object is built once and events carry its code.

Event ids are UUIDv7-shaped and derived from the seed: 48 bits of Unix milliseconds, then random
bits. Sorting by id therefore sorts by time, which is the order the ingest writer processes a
batch in, and keeps PostgreSQL's primary-key index appended at its right edge.
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

EVENT_NAMES = (
    "$pageview", "onboarding_started", "integration_connected", "widget_customized",
    "teammate_invited", "chatbot_created", "report_viewed", "canned_reply_created", "conversation_assigned",
    "subscription_paid", "plan_upgraded", "referral_sent", "$guide_shown", "$guide_step_viewed",
    "$guide_completed", "$guide_dismissed", "$cta_clicked", "$checklist_item_completed", "$survey_submitted",
    "$guide_render_failed",
)
CODE = {name: code for code, name in enumerate(EVENT_NAMES)}
PAGES = ("dashboard", "inbox", "widget", "integrations", "reports", "settings")
PAGE = {page: code for code, page in enumerate(PAGES)}
MS_PER_DAY = 86_400_000


class PropertyCatalog:
    """Every distinct property object used, by code; code 0 is ``{}``."""

    def __init__(self) -> None:
        self.objects: list[dict] = []
        self.json: list[str] = []
        self._codes: dict[str, int] = {}
        self.code({})

    def code(self, properties: dict) -> int:
        text = json.dumps(properties, separators=(",", ":"), sort_keys=True)
        found = self._codes.get(text)
        if found is None:
            found = self._codes[text] = len(self.objects)
            self.objects.append(properties)
            self.json.append(text)
        return found

    def copy_text(self) -> list[str]:
        """The JSON of each code escaped for ``COPY … FROM STDIN`` text format."""
        return [text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n") for text in self.json]


@dataclass(frozen=True)
class EventColumns:
    """Events of one chunk of users, sorted by time then id (parallel arrays)."""

    user: np.ndarray  # index into the chunk's users
    name: np.ndarray  # index into EVENT_NAMES
    ts_ms: np.ndarray  # Unix milliseconds
    props: np.ndarray  # PropertyCatalog code
    page: np.ndarray  # index into PAGES
    id_hi: np.ndarray  # uint64: the UUID's first 8 bytes
    id_lo: np.ndarray  # uint64: its last 8 bytes

    def __len__(self) -> int:
        return len(self.user)

    def ids(self) -> list[str]:
        return [f"{hi:016x}{lo:016x}" for hi, lo in zip(self.id_hi.tolist(), self.id_lo.tolist())]

    def iso_times(self) -> np.ndarray:
        return np.datetime_as_string(self.ts_ms.astype("datetime64[ms]"), unit="ms")

    def counts_by_name(self) -> dict[str, int]:
        counts = np.bincount(self.name, minlength=len(EVENT_NAMES))
        return {name: int(counts[code]) for code, name in enumerate(EVENT_NAMES) if counts[code]}


class EventBuilder:
    """Collects events for a chunk: times are float days since the simulation's start."""

    def __init__(self, users: int) -> None:
        self.users = users
        self._parts: list[tuple[np.ndarray, ...]] = []

    def add(self, users: np.ndarray, name: str, days: np.ndarray, props=0, page: str | np.ndarray = "dashboard",
            where: np.ndarray | None = None) -> None:
        """Add one ``name`` event per entry of ``users`` at ``days``; ``where`` masks entries out."""
        users = np.asarray(users, dtype=np.int64)
        days = np.broadcast_to(np.asarray(days, dtype=np.float64), users.shape)
        props = np.broadcast_to(np.asarray(props, dtype=np.int32), users.shape)
        page_codes = np.broadcast_to(
            np.asarray(PAGE[page] if isinstance(page, str) else page, dtype=np.int8), users.shape
        )
        if where is not None:
            users, days, props, page_codes = users[where], days[where], props[where], page_codes[where]
        if len(users):
            self._parts.append((users, np.full(len(users), CODE[name], dtype=np.int16), days, props, page_codes))

    def build(self, *, start_ms: int, end_days: float, rng: np.random.Generator) -> EventColumns:
        """Drop events at or after ``end_days``, convert to milliseconds, sort, and give them ids."""
        if not self._parts:
            empty = np.zeros(0, dtype=np.int64)
            return EventColumns(empty, empty.astype(np.int16), empty, empty.astype(np.int32), empty.astype(np.int8),
                                empty.astype(np.uint64), empty.astype(np.uint64))
        user, name, days, props, page = (np.concatenate(column) for column in zip(*self._parts))
        keep = days < end_days
        user, name, days, props, page = user[keep], name[keep], days[keep], props[keep], page[keep]
        ts_ms = start_ms + np.floor(days * MS_PER_DAY).astype(np.int64)
        rand_a = rng.integers(0, 1 << 12, size=len(ts_ms), dtype=np.uint64)
        rand_b = rng.integers(0, 1 << 62, size=len(ts_ms), dtype=np.uint64)
        id_hi = (ts_ms.astype(np.uint64) << np.uint64(16)) | np.uint64(0x7000) | rand_a
        id_lo = np.uint64(0x8000000000000000) | rand_b
        order = np.lexsort((id_lo, id_hi))
        return EventColumns(user[order], name[order], ts_ms[order], props[order], page[order], id_hi[order],
                            id_lo[order])
