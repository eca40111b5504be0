"""What every asset check returns (`Outcome`) and the catalog look-ups the checks share."""


from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import duckdb

from altor_pipelines.warehouse.duckdb import table_exists

SAMPLE = 5  # offending rows quoted in a message


@dataclass(frozen=True)
class Outcome:
    passed: bool
    message: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def skipped(cls, why: str) -> "Outcome":
        return cls(True, f"Not checked: {why}", {"status": "skipped"})


# --------------------------------------------------------------------------- helpers

def quoted(identifier: str) -> str:
    """A quoted identifier (names come from code and the catalog, never from data)."""
    return '"' + identifier.replace('"', '""') + '"'


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    schema, name = table.split(".")
    return [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
        "ORDER BY column_index", [schema, name]).fetchall()]


def missing_tables(con: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> list[str]:
    return [t for t in tables if not table_exists(con, t)]


def some_ids(values: Sequence[Any]) -> str:
    shown = ", ".join(str(v) for v in values[:SAMPLE])
    return shown + (f" and {len(values) - SAMPLE} more" if len(values) > SAMPLE else "")
