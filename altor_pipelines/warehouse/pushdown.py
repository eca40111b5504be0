"""The investigation's log inputs, computed inside ClickHouse per ticket (issue #15).

The request logs stay in ClickHouse. A pushed-down query is a pair of files with one name:

- `sql/features/pushdown/<name>.sql` (DuckDB): the tickets to investigate, one row each —
  `ticket_id`, `investigated_at`, whatever per-ticket values the query needs (`org_id`, a
  service, a deploy time, a baseline rate...), and `scan_from` (`scan_from_30d`): the earliest
  log time the ticket's windows read;
- `sql/clickhouse/<name>.sql` (ClickHouse): takes each listed column as a bound array parameter
  of the same name (`{org_id:Array(String)}`...), the scanned range as `{start}` (the earliest
  `scan_from` of the batch), `{start_30d}` and `{end}` (the latest `investigated_at`), and
  returns a few rows per ticket.

The result is the warehouse table `logs.<name>`. Tickets go in batches, sorted by time, so a
batch scans only the range its windows need. Bytes brought back grow with tickets, not with log
volume; every window ends at or before the ticket's investigation time.

Arrays, not an external table: chDB has no external data, and the same code runs on chDB and on
a server (`ClickHouseAccess`). Values are bound server-side, never formatted into the SQL.
"""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from altor_pipelines.errors import SourceError
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess, clickhouse_sql

LOGS_SCHEMA = "logs"
PUSHDOWN_DIR = Path("features") / "pushdown"
# Tickets per query. Each batch also scans its windows' look-back (up to 8 days before its
# first ticket; 30 for the platform share), so small batches re-read the same days: on the
# medium tier (75k tickets, ~1,070 a day) 2,000 a batch read ~10 days of logs for ~2 days of
# tickets. 8,000 gave the same rows with ticket_windows 226 -> 72 s and ticket_platform_share
# 202 -> 130 s, the process peaking at 2.1 GB instead of 1.2 (docs/operations.md, "Scale").
DEFAULT_BATCH = 8000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SCANS = {"scan_from": "start", "scan_from_30d": "start_30d"}


@dataclass(frozen=True)
class PushdownQuery:
    """One query sent to ClickHouse for a batch of tickets."""

    name: str
    tickets: int
    start: datetime | None
    end: datetime | None
    rows: int
    bytes: int  # Arrow IPC bytes received
    seconds: float


@dataclass
class PushdownStats:
    """What the pushed-down queries brought back, query by query."""

    queries: list[PushdownQuery] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in sorted({q.name for q in self.queries}):
            qs = [q for q in self.queries if q.name == name]
            out[name] = {"queries": len(qs), "tickets": sum(q.tickets for q in qs),
                         "rows": sum(q.rows for q in qs), "bytes": sum(q.bytes for q in qs),
                         "seconds": round(sum(q.seconds for q in qs), 3)}
        return out

    def bytes(self) -> int:
        return sum(q.bytes for q in self.queries)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(q) for q in self.queries]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _warehouse_table(table: pa.Table) -> pa.Table:
    """Timestamps as the warehouse keeps them: UTC, microseconds, without a zone."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type):
            naive = pa.timestamp("us")
            column = table.column(i)
            if f.type.tz is not None:
                column = column.cast(pa.timestamp("us", tz="UTC"))
            table = table.set_column(i, pa.field(f.name, naive), column.cast(naive))
    return table


def _array(column: str, values: list[Any]) -> list[Any]:
    if values and isinstance(next((v for v in values if v is not None), None), datetime):
        return [None if v is None else _utc(v) for v in values]
    if column in ("org_id", "service"):
        return ["" if v is None else str(v) for v in values]  # '' never names an org/service
    return values


def batch_parameters(database: str, columns: list[str], rows: list[tuple],
                     sql: str) -> dict[str, Any]:
    """The bound parameters of one batch: each listed column as an array (if the query names
    it), the scanned range from `scan_from*` and `investigated_at`."""
    named = set(re.findall(r"\{([a-z_0-9]+):", sql))
    params: dict[str, Any] = {"database": database}
    by_column = {c: [r[i] for r in rows] for i, c in enumerate(columns)}
    for column, values in by_column.items():
        if column in _SCANS:
            present = [_utc(v) for v in values if v is not None]
            params[_SCANS[column]] = min(present) if present else _EPOCH
        elif column in named:
            params[column] = _array(column, values)
    times = [_utc(v) for v in by_column.get("investigated_at", []) if v is not None]
    params["end"] = max(times) if times else _EPOCH
    params.setdefault("start", _EPOCH)
    return {k: v for k, v in params.items() if k in named}


def query_arrow(
    access: ClickHouseAccess,
    name: str,
    sql: str,
    bound: Mapping[str, Any],
    record: str,
    stats: PushdownStats | None = None,
    tickets: int = 0,
) -> pa.Table:
    """One ClickHouse query (`sql/clickhouse/<name>.sql`, its text `sql`) as a warehouse-ready
    Arrow table; a failure names the query and `record`."""
    started = time.perf_counter()
    try:
        with access.client() as client:
            payload = client.raw_query(sql, parameters=dict(bound), fmt="ArrowStream")
    except Exception as exc:  # noqa: BLE001 - any driver error, named with its query
        raise SourceError("clickhouse", f"pushed-down query failed: "
                          f"{type(exc).__name__}: {str(exc)[:500]}",
                          endpoint=f"sql/clickhouse/{name}.sql", record=record) from None
    result = _warehouse_table(pa.ipc.open_stream(payload).read_all())
    if stats is not None:
        stats.queries.append(PushdownQuery(
            name, tickets, bound.get("start"), bound.get("end"), result.num_rows,
            len(payload), time.perf_counter() - started))
    return result


def run_pushdown(
    con: duckdb.DuckDBPyConnection,
    access: ClickHouseAccess,
    name: str,
    listing_sql: str,
    params: Mapping[str, Any] | None = None,
    batch: int = DEFAULT_BATCH,
    stats: PushdownStats | None = None,
    target: str | None = None,
) -> int:
    """Run `sql/clickhouse/<name>.sql` for the tickets `listing_sql` lists (bound with the
    `$params` it names) and (re)create `target` (default `logs.<name>`); returns its row count."""
    cursor = con.execute(listing_sql, dict(params) if params else None)
    columns = [d[0] for d in cursor.description]
    tickets = cursor.fetchall()
    sql = clickhouse_sql(name)
    target = target or f"{LOGS_SCHEMA}.{name}"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {LOGS_SCHEMA}")
    first = True
    for at in range(0, max(len(tickets), 1), batch):  # no ticket: one query, for the columns
        chunk = tickets[at: at + batch]
        bound = batch_parameters(access.database, columns, chunk, sql)
        result = query_arrow(access, name, sql, bound, f"tickets {at}..{at + len(chunk)}",
                             stats, len(chunk))
        con.register("pushdown_batch", result)
        try:
            if first:
                con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM pushdown_batch")
                first = False
            else:
                con.execute(f"INSERT INTO {target} SELECT * FROM pushdown_batch")
        finally:
            con.unregister("pushdown_batch")
    return con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]
