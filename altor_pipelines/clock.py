"""The pipeline's clock: times are UTC; the warehouse stores them naive (UTC implied).

`as_of(settings)` is the moment a run works at: the settings' `ALTOR_AS_OF` (a demo world's
clock) or now. `naive_utc` is the one conversion to the warehouse's naive timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime

from altor_pipelines.settings import Settings


def parse_time(value: str | datetime | None) -> datetime | None:
    """A UTC datetime from an ISO string (`Z` allowed) or a datetime; None stays None.
    A time without a zone is taken as UTC."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def naive_utc(value: str | datetime | None) -> datetime | None:
    """The same moment as a naive UTC datetime (how DuckDB's TIMESTAMP columns hold it): an
    aware time is converted to UTC first; a naive one is taken as UTC already."""
    t = parse_time(value)
    return t.astimezone(UTC).replace(tzinfo=None) if t is not None else None


def as_of(settings: Settings) -> datetime:
    """The time the pipeline runs at (aware, UTC): the demo world's clock, or now."""
    return parse_time(settings.as_of) or datetime.now(UTC)


def iso_z(t: datetime) -> str:
    """`2026-08-01T12:00:00Z`: a time as the settings and the vendors' APIs write it."""
    return parse_time(t).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
