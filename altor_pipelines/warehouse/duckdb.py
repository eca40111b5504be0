"""The DuckDB warehouse: one file, one writer at a time, readers on read-only connections."""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from altor_pipelines.errors import WarehouseLockedError
from altor_pipelines.settings import PROJECT_ROOT, Settings

SQL_DIR = PROJECT_ROOT / "sql"


_HOLDER = re.compile(r"Conflicting lock is held in .*?\(PID (\d+)\)")


def locked_error(path: Path | str, exc: duckdb.Error) -> WarehouseLockedError | None:
    """A WarehouseLockedError when `exc` is DuckDB refusing the file's lock, else None."""
    text = str(exc)
    if not isinstance(exc, duckdb.IOException) or "Could not set lock" not in text:
        return None
    pid = _HOLDER.search(text)
    return WarehouseLockedError(str(path), f"pid {pid.group(1)}" if pid else None)


def connect(path: Path | str, *, read_only: bool = False,
            memory_limit: str = "") -> duckdb.DuckDBPyConnection:
    """A connection to the warehouse file; `memory_limit` (e.g. "4GB") caps DuckDB's memory."""
    path = Path(path)
    if not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        con = duckdb.connect(str(path), read_only=read_only)
    except duckdb.IOException as exc:
        locked = locked_error(path, exc)
        if locked is None:
            raise
        raise locked from None
    if memory_limit:
        con.execute("SET memory_limit = ?", [memory_limit])
    return con


def open_warehouse(settings: Settings, *, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """The configured warehouse, within its memory limit."""
    return connect(settings.warehouse_path, read_only=read_only,
                   memory_limit=settings.duckdb_memory_limit)


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """Whether `<schema>.<name>` is a table of the database `con` writes to (not of one
    merely attached, such as the warehouse under `scratch_over`)."""
    schema, name = table.split(".")
    return con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() "
        "AND schema_name = ? AND table_name = ?", [schema, name]).fetchall()[0][0] > 0


def sql_text(relative: str) -> str:
    """The text of one SQL model, e.g. `sql_text("staging/stg_zendesk__tickets.sql")`."""
    return (SQL_DIR / relative).read_text()


def scratch_over(warehouse_path: Path | str, schemas: tuple[str, ...] = ("staging",),
                 tables: tuple[str, ...] = ("intermediate.int_account_spine",)
                 ) -> duckdb.DuckDBPyConnection:
    """An in-memory connection that reads the warehouse (attached read-only) through views of
    its `schemas` and `tables`, and writes only to memory.

    For investigations on demand (`altor investigate`): they build their own feature tables
    without touching the warehouse's, and run while a pipeline holds the writer.
    """
    con = duckdb.connect()
    path = str(Path(warehouse_path).resolve()).replace("'", "''")
    try:
        con.execute(f"ATTACH '{path}' AS warehouse (READ_ONLY)")
    except duckdb.IOException as exc:
        con.close()
        locked = locked_error(warehouse_path, exc)
        if locked is None:
            raise
        raise locked from None
    listed = con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = 'warehouse'"
    ).fetchall()
    for schema, table in listed:
        if schema in schemas or f"{schema}.{table}" in tables:
            con.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
            con.execute(f'CREATE VIEW "{schema}"."{table}" AS '
                        f'SELECT * FROM warehouse."{schema}"."{table}"')
    return con
