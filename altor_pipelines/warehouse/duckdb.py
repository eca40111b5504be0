"""The DuckDB warehouse: one file, one writer at a time, readers on read-only connections."""

from __future__ import annotations

from pathlib import Path

import duckdb

from altor_pipelines.settings import PROJECT_ROOT

SQL_DIR = PROJECT_ROOT / "sql"


def connect(path: Path | str, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(path), read_only=read_only)


def sql_text(relative: str) -> str:
    """The text of one SQL model, e.g. `sql_text("staging/stg_zendesk__tickets.sql")`."""
    return (SQL_DIR / relative).read_text()
