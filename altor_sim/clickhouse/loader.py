"""Loads a world's request logs (`clickhouse/requests/*.parquet`) into ClickHouse.

The table is `<database>.requests` (DDL in `sql/clickhouse/requests_table.sql`). A load builds
a fresh table next to the live one, inserts every file in Arrow batches, then swaps the two
atomically (`EXCHANGE TABLES`) and drops the old one: reloading a world never duplicates rows,
and readers see the old logs or the new ones, never a half-loaded table.

Inserts go through `client.insert_arrow`, so the same code loads a chDB directory or a server
(where `file()` on the client's disk would not be reachable).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from datetime import datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from altor_pipelines.errors import WorldFormatError
from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess, clickhouse_sql

log = logging.getLogger(__name__)

# The world's request logs: column -> Arrow type the loader sends (ClickHouse converts).
REQUEST_SCHEMA = pa.schema([
    pa.field("ts", pa.timestamp("ms", tz="UTC"), nullable=False),
    pa.field("org_id", pa.string(), nullable=False),
    pa.field("api_key_id", pa.string(), nullable=False),
    pa.field("endpoint", pa.string(), nullable=False),
    pa.field("method", pa.string(), nullable=False),
    pa.field("status", pa.uint16(), nullable=False),
    pa.field("error_code", pa.string(), nullable=True),
    pa.field("latency_ms", pa.float64(), nullable=False),
    pa.field("region", pa.string(), nullable=False),
    pa.field("service", pa.string(), nullable=False),
    pa.field("request_id", pa.string(), nullable=False),
])
COLUMNS = REQUEST_SCHEMA.names
BATCH_ROWS = 1_000_000


def request_files(world_dir: Path | str) -> list[Path]:
    return sorted((Path(world_dir) / "clickhouse" / "requests").glob("*.parquet"))


def _conform(batch: pa.RecordBatch, path: Path, first_row: int) -> pa.Table:
    """Cast one batch to REQUEST_SCHEMA; a null in a required column is a format error."""
    columns = []
    for field in REQUEST_SCHEMA:
        column = batch.column(field.name)
        if not field.nullable and column.null_count:
            row = first_row + pc.index(pc.is_null(column), True).as_py()
            raise WorldFormatError(str(path), f"null in required column at row {row}",
                                   field=field.name)
        if field.name == "ts" and pa.types.is_timestamp(column.type) and column.type.tz is None:
            column = pc.assume_timezone(column, "UTC")  # naive timestamps are UTC by contract
        try:
            columns.append(column.cast(field.type))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise WorldFormatError(str(path), f"cannot read as {field.type}: {exc}",
                                   field=field.name) from exc
    return pa.Table.from_arrays(columns, schema=REQUEST_SCHEMA)


def _between(table: pa.Table, after: datetime | None, until: datetime | None) -> pa.Table:
    """The rows with `after` < ts <= `until` (either bound may be None)."""
    keep = None
    for bound, op in ((after, pc.greater), (until, pc.less_equal)):
        if bound is not None:
            mask = op(table["ts"], pa.scalar(bound, REQUEST_SCHEMA.field("ts").type))
            keep = mask if keep is None else pc.and_(keep, mask)
    return table if keep is None else table.filter(keep)


def _batches(files: list[Path], batch_rows: int, after: datetime | None = None,
             until: datetime | None = None) -> Iterator[pa.Table]:
    """Conformed batches of every file (rows with `after` < ts <= `until`), read one batch
    ahead on a thread (Parquet decoding releases the GIL, so reading overlaps ClickHouse's
    insert of the previous batch)."""

    def read() -> Iterator[pa.Table]:
        for path in files:
            parquet = pq.ParquetFile(path)
            missing = [c for c in COLUMNS if c not in parquet.schema_arrow.names]
            if missing:
                raise WorldFormatError(str(path), "missing request-log columns",
                                       field=",".join(missing))
            offset = 0
            for batch in parquet.iter_batches(batch_size=batch_rows, columns=COLUMNS):
                table = _between(_conform(batch, path, offset), after, until)
                offset += batch.num_rows
                if table.num_rows:
                    yield table

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="parquet-read") as pool:
        it = read()
        pending = pool.submit(next, it, None)
        while True:
            table = pending.result()
            if table is None:
                return
            pending = pool.submit(next, it, None)
            yield table


@contextmanager
def _session(target: Any) -> Iterator[Any]:
    """`target` is a ClickHouseAccess (lock per statement) or a bare clickhouse-connect client."""
    if isinstance(target, ClickHouseAccess):
        with target.client() as client:
            yield client
    else:
        with nullcontext(target) as client:
            yield client


def load_request_logs(
    client: Any, world_dir: Path | str, database: str = "altor", *, batch_rows: int = BATCH_ROWS,
    until: datetime | None = None,
) -> int:
    """Replace `<database>.requests` with the world's request logs (those at or before
    `until`, when given); returns the rows loaded.

    `client` is a clickhouse-connect client or a `ClickHouseAccess` (then each statement and
    batch holds the store's lock, and other steps can interleave between batches).
    """
    files = request_files(world_dir)
    started = time.perf_counter()
    loading = "requests__loading"
    ids = {"database": database}
    with _session(client) as c:
        c.command("CREATE DATABASE IF NOT EXISTS {database:Identifier}", parameters=ids)
        c.command("DROP TABLE IF EXISTS {database:Identifier}.{table:Identifier}",
                  parameters={**ids, "table": loading})
        c.command(clickhouse_sql("requests_table"), parameters={**ids, "table": loading})
    rows = 0
    try:
        for table in _batches(files, batch_rows, until=until):
            with _session(client) as c:
                c.insert_arrow(f"{database}.{loading}", table)
            rows += table.num_rows
        with _session(client) as c:
            # An empty `requests` first, so the swap works on a first load too.
            c.command(clickhouse_sql("requests_table"), parameters={**ids, "table": "requests"})
            c.command("EXCHANGE TABLES {database:Identifier}.{a:Identifier} "
                      "AND {database:Identifier}.{b:Identifier}",
                      parameters={**ids, "a": loading, "b": "requests"})
            c.command("DROP TABLE IF EXISTS {database:Identifier}.{table:Identifier}",
                      parameters={**ids, "table": loading})
    except BaseException:
        with _session(client) as c:
            c.command("DROP TABLE IF EXISTS {database:Identifier}.{table:Identifier}",
                      parameters={**ids, "table": loading})
        raise
    log.info("loaded %d request-log rows from %d files in %.1f s", rows, len(files),
             time.perf_counter() - started)
    return rows


def append_request_logs(client: Any, world_dir: Path | str, database: str, after: datetime,
                        until: datetime | None = None, *, batch_rows: int = BATCH_ROWS) -> int:
    """Insert the world's request-log rows with `after` < ts <= `until` into the live
    `<database>.requests` (logs arriving after a load that stopped at `after`); returns the
    rows inserted."""
    rows = 0
    for table in _batches(request_files(world_dir), batch_rows, after, until):
        with _session(client) as c:
            c.insert_arrow(f"{database}.requests", table)
        rows += table.num_rows
    return rows


def load_world_logs(world_dir: Path | str) -> int:
    """Load the world's request logs into the ClickHouse the settings name (the environment
    of a served world: `altor demo run`, the live period)."""
    settings = Settings.from_env()
    return load_request_logs(ClickHouseAccess(settings), world_dir, settings.clickhouse_database)
