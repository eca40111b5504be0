"""What becomes a row in a source's tables: records checked before loading (a record that
cannot load goes to the `_quarantine` table with the reason, never stops the source), and the
column hints that make every table exist with its typed columns before a first row."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

import dlt

log = logging.getLogger(__name__)

QUARANTINE_TABLE = "_quarantine"


_QUARANTINE_HINTS = dlt.mark.make_hints(
    table_name=QUARANTINE_TABLE,
    write_disposition="merge",
    primary_key="quarantine_id",
    columns={"record": {"data_type": "json"}},
)


def quarantine(source: str, endpoint: str, record: Any, reason: str, field: str | None) -> Any:
    """A row for the `_quarantine` table (merged on a hash of endpoint and record, so a record
    met again is not stored twice), to be yielded from any resource."""
    text = json.dumps(record, sort_keys=True, default=str)
    row = {
        "quarantine_id": hashlib.sha256(f"{source}|{endpoint}|{text}".encode()).hexdigest()[:32],
        "source": source,
        "endpoint": endpoint,
        "field": field,
        "reason": reason,
        "record": record,
        "quarantined_at": datetime.now(UTC).replace(tzinfo=None).isoformat(),
    }
    log.warning("%s %s: record quarantined (%s, field=%s)", source, endpoint, reason, field)
    return dlt.mark.with_hints(row, _QUARANTINE_HINTS, create_table_variant=True)


def _fits(value: Any, data_type: str) -> bool:
    """Whether `value` loads into a column of `data_type` as that type (not as a variant
    column, which staging would read as NULL without a word)."""
    if value is None or data_type == "json":
        return True
    if data_type == "text":
        return isinstance(value, str | int | float)
    if data_type == "bigint":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.lstrip("-").isdigit())
    if data_type == "double":
        return isinstance(value, int | float) and not isinstance(value, bool)
    if data_type == "bool":
        return isinstance(value, bool)
    if data_type == "timestamp":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return True
        if not isinstance(value, str):
            return False
        try:
            datetime.fromisoformat(value.replace("Z", "+00:00"))
            return True
        except ValueError:
            return False
    return True


def split_valid(
    items: Iterable[Any], required: Iterable[str], source: str, endpoint: str,
    types: Mapping[str, Mapping[str, Any]] | None = None,
) -> tuple[list[dict], list[Any]]:
    """Records with every `required` field (not null), and whose top-level fields hinted in
    `types` (a resource's column hints) hold that type; quarantine rows for the others."""
    good: list[dict] = []
    bad: list[Any] = []
    need = list(required)
    typed = {name: hint["data_type"] for name, hint in (types or {}).items()
             if "__" not in name and hint.get("data_type")}
    for item in items:
        if not isinstance(item, dict):
            bad.append(quarantine(source, endpoint, item, "record is not an object", None))
            continue
        missing = next((f for f in need if item.get(f) is None), None)
        if missing is not None:
            bad.append(quarantine(source, endpoint, item, "missing required field", missing))
            continue
        wrong = next((f for f, t in typed.items() if f in item and not _fits(item[f], t)), None)
        if wrong is not None:
            bad.append(quarantine(source, endpoint, item,
                                  f"field is not of type {typed[wrong]}: {item[wrong]!r}"[:300],
                                  wrong))
        else:
            good.append(item)
    return good, bad


def checked(items: Iterable[Any], required: Iterable[str], source: str, endpoint: str,
            types: Mapping[str, Mapping[str, Any]] | None = None) -> Iterator[Any]:
    """What a resource yields for a page: its valid records (`split_valid`) as one item, then
    a `_quarantine` row for each of the others."""
    good, bad = split_valid(items, required, source, endpoint, types)
    if good:
        yield good
    yield from bad


def materialize() -> Any:
    """Yielded first by every resource: its table exists (with the hinted columns) even before
    a first row arrives, so staging models over it always build."""
    return dlt.extract.materialize_schema_item()


def key_column(name: str, data_type: str) -> dict[str, dict[str, Any]]:
    """The key's type, so an empty table is created with it (the resource's `primary_key`
    makes it the key; not-null is left to that, so `_quarantine` rows may lack it)."""
    return {name: {"data_type": data_type}}


def columns(**types: str) -> dict[str, dict[str, Any]]:
    """Column hints `name=data_type`: nullable fields staging reads exist even before a first
    non-null value arrives, and nested values hinted `json` stay one column."""
    return {name: {"data_type": t, "nullable": True} for name, t in types.items()}
