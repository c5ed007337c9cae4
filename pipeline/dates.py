"""Dates as each file format writes them, and which dates to believe.

Every date zhen handles is timezone-aware UTC inside; these are the only
places that turn one into text or back.
"""

from __future__ import annotations

from datetime import datetime, timezone

PO_HEADER = "%Y-%m-%d %H:%M%z"  # as gettext writes PO-Revision-Date and POT-Creation-Date
TMX = "%Y%m%dT%H%M%SZ"  # TMX 1.4b's attributes: always UTC
STORED = "%Y-%m-%dT%H:%M:%SZ"  # ISO 8601 in the translation memory: sorts as text
DAY = "%Y-%m-%d"  # in notes people read


def now() -> datetime:
    """The real time now (not $SOURCE_DATE_EPOCH, which only dates outputs)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def believable(moment: datetime) -> datetime:
    """A date no later than now: one from the future (a wrong clock, a
    hand-edited header, a TMX dated 2999) counts as now, so that it cannot
    outrank every later correction forever."""
    return min(moment, now())


def format_utc(moment: datetime, layout: str) -> str:
    return moment.astimezone(timezone.utc).strftime(layout)


def parse(text: str | None, layout: str) -> datetime | None:
    """``text`` in ``layout`` (UTC unless it says otherwise), None if absent or malformed."""
    try:
        moment = datetime.strptime((text or "").strip(), layout)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)
