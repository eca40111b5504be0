"""The pipeline as plain functions: what Dagster assets, the CLI and the tests all call."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from altor_pipelines.settings import Settings


def parse_time(value: str | datetime | None) -> datetime | None:
    """A UTC datetime from an ISO string (`Z` allowed) or a datetime; None stays None."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def clock(settings: Settings) -> datetime:
    """The time the pipeline runs at: the demo world's clock, or now."""
    return parse_time(settings.as_of) or datetime.now(UTC)


def sql_parameters(settings: Settings) -> dict[str, Any]:
    """Values the SQL models may bind (`$name`); the runner passes each model only its own.

    The scheduled (batch) investigation looks at every ticket as of its creation time
    (`as_of` and `ticket_ids` NULL); the live path passes its own (see investigation.py).
    """
    naive_utc = lambda t: t.astimezone(UTC).replace(tzinfo=None) if t else None  # noqa: E731
    return {
        "root_cause_field_id": settings.zendesk_root_cause_field_id,
        "go_live": naive_utc(parse_time(settings.go_live)),
        "as_of": None,
        "ticket_ids": None,
        "clickhouse_database": settings.clickhouse_database,
    }
