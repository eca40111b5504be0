"""dlt source for the request logs in ClickHouse: coarse aggregates pushed down, never raw rows.

One resource, `org_hours` (merged into `raw_clickhouse`): per org and hour, requests, 429s and
the first and last minute with traffic (`sql/clickhouse/org_hours.sql`): which accounts are
active, and the served requests a monthly quota counts. Everything finer a ticket needs (its
windows, error keys, change points, rate-limit minutes) is computed inside ClickHouse at
investigation time, per ticket (`altor_pipelines/warehouse/pushdown.py`): bytes brought back
grow with customers × hours and with tickets, not with the log volume.

Incremental by closed time windows. Windows are `window_minutes` long (whole hours), aligned to
the epoch. A run loads the windows that end at or before `until` (the clock: in production now
minus a settle delay) and keeps, in the resource's dlt state, `closed_until`: the end of the
last window it loaded. The next run first re-reads the whole windows touching the last
`overlap_minutes` before `closed_until` (an hour's row is only right when read whole), so rows
that arrived late are picked up, then loads the new windows. The merge key makes the re-read
idempotent. The state is committed with the load package, so a run that fails mid-way leaves
the cursor where the last good run put it.

A query that fails (an error inside a 200, the server going away mid-query, a connection
refused) is retried `max_retries` times with exponential backoff before the run stops; the
error then names the query and the window and never shows the password.

Every query is parameterised server-side (`{start:DateTime64(3, 'UTC')}`...); the SQL lives in
`sql/clickhouse/`. All ClickHouse access goes through `ClickHouseAccess` (one query per lock
hold). What came back (rows, Arrow bytes, window bounds, per query) is recorded in a
`ClickHouseSyncStats` the caller can pass in, and a summary of the last run is kept in state.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
import pyarrow as pa

from altor_pipelines.errors import SourceError
from altor_pipelines.sources.http import redact
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess, clickhouse_sql

ORG_HOURS_KEY = ("org_id", "hour")
DEFAULT_SETTLE = timedelta(minutes=5)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class QueryRecord:
    """One query sent to ClickHouse by the source."""

    resource: str
    kind: str  # "overlap" (re-read of already loaded time), "window" (new windows) or "bounds"
    start: datetime | None
    end: datetime | None
    rows: int
    bytes: int  # Arrow IPC bytes received (what crossed the wire, uncompressed)
    seconds: float


@dataclass
class ClickHouseSyncStats:
    """What one source run fetched from ClickHouse, query by query."""

    queries: list[QueryRecord] = field(default_factory=list)

    def of(self, resource: str | None = None, kind: str | None = None) -> list[QueryRecord]:
        return [q for q in self.queries
                if resource in (None, q.resource) and kind in (None, q.kind)]

    def rows(self, resource: str | None = None) -> int:
        return sum(q.rows for q in self.of(resource))

    def bytes(self, resource: str | None = None) -> int:
        return sum(q.bytes for q in self.of(resource))

    def bounds(self, resource: str, kind: str | None = None) -> list[tuple[datetime, datetime]]:
        return [(q.start, q.end) for q in self.of(resource, kind) if q.start is not None]

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for resource in sorted({q.resource for q in self.queries}):
            qs = self.of(resource)
            out[resource] = {"queries": len(qs), "rows": sum(q.rows for q in qs),
                             "bytes": sum(q.bytes for q in qs),
                             "seconds": round(sum(q.seconds for q in qs), 3)}
        return out

    def as_dicts(self) -> list[dict[str, Any]]:
        return [asdict(q) for q in self.queries]


# --- time windows --------------------------------------------------------------------------

def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def floor_to_window(value: datetime, window: timedelta) -> datetime:
    """The start of the epoch-aligned window holding `value`."""
    value = _utc(value)
    return _EPOCH + ((value - _EPOCH) // window) * window


def window_chunks(start: datetime, end: datetime, window: timedelta,
                  windows_per_query: int) -> list[tuple[datetime, datetime]]:
    """[start, end) cut into query ranges of at most `windows_per_query` whole windows."""
    step = window * max(1, windows_per_query)
    out, at = [], start
    while at < end:
        out.append((at, min(at + step, end)))
        at += step
    return out


# --- queries -------------------------------------------------------------------------------

def fetch_arrow(client: Any, sql: str, parameters: dict[str, Any]) -> tuple[pa.Table, int]:
    """Run one query with server-side parameters; returns the Arrow table and its wire size."""
    payload = client.raw_query(sql, parameters=parameters, fmt="ArrowStream")
    if not payload:
        return pa.table({}), 0
    return pa.ipc.open_stream(payload).read_all(), len(payload)


def _for_dlt(table: pa.Table) -> pa.Table:
    """Timestamps to microseconds (DuckDB's TIMESTAMPTZ precision; avoids a precision hint
    DuckDB cannot keep together with the time zone)."""
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) and f.type.unit != "us":
            us = pa.timestamp("us", tz="UTC")
            table = table.set_column(i, f.with_type(us), table.column(i).cast(us))
    return table


def query_rows(client: Any, name: str, parameters: dict[str, Any]) -> list[tuple]:
    """Rows of one `sql/clickhouse/<name>.sql` query (native client path)."""
    return client.query(clickhouse_sql(name), parameters=parameters).result_rows


def org_status_counts(client: Any, database: str, org_id: str, start: datetime,
                      end: datetime) -> dict[int, int]:
    """One org's requests per HTTP status over [start, end), computed in ClickHouse."""
    params = {"database": database, "org_id": org_id, "start": _utc(start), "end": _utc(end)}
    rows = query_rows(client, "org_status_counts", params)
    return {int(status): int(n) for status, n in rows}


def raw_log_size(client: Any, database: str) -> dict[str, int]:
    """Rows and bytes (uncompressed, compressed) of the raw request logs in ClickHouse."""
    rows, uncompressed, compressed = query_rows(client, "raw_log_size", {"database": database})[0]
    return {"rows": int(rows or 0), "uncompressed_bytes": int(uncompressed or 0),
            "compressed_bytes": int(compressed or 0)}


def log_bounds(client: Any, database: str) -> tuple[int, datetime | None, datetime | None]:
    rows, first, last = query_rows(client, "log_bounds", {"database": database})[0]
    if not rows:
        return 0, None, None
    return int(rows), _utc(first), _utc(last)


# --- the source ----------------------------------------------------------------------------

BeforeQuery = Callable[[str, str, datetime, datetime], None]


def clickhouse_logs_source(
    access: ClickHouseAccess,
    database: str | None = None,
    until: datetime | None = None,
    window_minutes: int = 60,
    overlap_minutes: int = 10,
    initial_start: datetime | None = None,
    windows_per_query: int = 24,
    stats: ClickHouseSyncStats | None = None,
    before_query: BeforeQuery | None = None,
    max_retries: int = 3,
    backoff_seconds: float = 0.5,
) -> Any:
    """The ClickHouse request-log source (a fresh dlt source object on every call).

    `until`: load only windows ending at or before it (default: now minus 5 minutes).
    `windows_per_query`: how many new windows one query may cover (a backfill reads a day per
    query with hourly windows); the overlap re-read is always its own query.
    `before_query(resource, kind, start, end)`: a hook called before each window query (tests
    use it to fail a run mid-way).
    """
    if window_minutes <= 0 or overlap_minutes < 0 or windows_per_query <= 0:
        raise ValueError("window_minutes and windows_per_query must be > 0, overlap_minutes >= 0")
    if window_minutes % 60:
        raise ValueError("window_minutes must be whole hours (the rows are per hour)")
    db = database or access.database
    clock = _utc(until) if until is not None else datetime.now(UTC) - DEFAULT_SETTLE
    window = timedelta(minutes=window_minutes)
    overlap = timedelta(minutes=overlap_minutes)
    run_stats = stats if stats is not None else ClickHouseSyncStats()
    closed_end = floor_to_window(clock, window)

    bounds: dict[str, datetime | None] = {}

    def first_start() -> datetime | None:
        """Where a first run starts: `initial_start`, else the earliest log row (asked once)."""
        if initial_start is not None:
            return floor_to_window(initial_start, window)
        if "first" not in bounds:
            t0 = time.perf_counter()
            with access.client() as client:
                rows, first, _ = log_bounds(client, db)
            run_stats.queries.append(QueryRecord("*", "bounds", None, None, 0, 0,
                                                 time.perf_counter() - t0))
            bounds["first"] = floor_to_window(first, window) if rows else None
        return bounds["first"]

    def plan(state: dict[str, Any], reread_from: Callable[[datetime], datetime]
             ) -> list[tuple[str, datetime, datetime]]:
        last = state.get("closed_until")
        if last is not None:
            last = _utc(datetime.fromisoformat(last))
            ranges = []
            if reread_from(last) < last:
                ranges.append(("overlap", reread_from(last), last))
            return ranges + [("window", s, e) for s, e in
                             window_chunks(last, closed_end, window, windows_per_query)]
        start = first_start()
        if start is None:
            return []
        chunks = window_chunks(start, closed_end, window, windows_per_query)
        return [("window", s, e) for s, e in chunks]

    def fetch_retrying(sql_name: str, sql: str, parameters: dict[str, Any], start: datetime,
                       end: datetime) -> tuple[pa.Table, int]:
        attempt = 0
        while True:
            attempt += 1
            try:
                with access.client() as client:
                    return fetch_arrow(client, sql, parameters)
            except Exception as exc:  # noqa: BLE001 - any driver error: retried, then named
                if attempt <= max_retries:
                    time.sleep(min(backoff_seconds * 2 ** (attempt - 1), 30.0))
                    continue
                secret = getattr(access.settings, "clickhouse_password", None)
                text = redact(f"{type(exc).__name__}: {exc}", [secret] if secret else [])
                raise SourceError("clickhouse", f"query failed after {attempt} attempt(s): "
                                  f"{text[:500]}", endpoint=sql_name,
                                  record=f"{start.isoformat()}..{end.isoformat()}") from None

    def run_queries(resource: str, sql_name: str, extra: dict[str, Any],
                    reread_from: Callable[[datetime], datetime]) -> Iterator[pa.Table]:
        state = dlt.current.resource_state()
        sql = clickhouse_sql(sql_name)
        totals = {"queries": 0, "rows": 0, "bytes": 0}
        for kind, start, end in plan(state, reread_from):
            if before_query is not None:
                before_query(resource, kind, start, end)
            t0 = time.perf_counter()
            table, size = fetch_retrying(sql_name, sql, {"database": db, "start": start,
                                                         "end": end, **extra}, start, end)
            run_stats.queries.append(QueryRecord(resource, kind, start, end, table.num_rows,
                                                 size, time.perf_counter() - t0))
            totals["queries"] += 1
            totals["rows"] += table.num_rows
            totals["bytes"] += size
            if table.num_rows:
                yield _for_dlt(table)
            if kind == "window":
                state["closed_until"] = end.isoformat()
        state["last_run"] = {**totals, "until": clock.isoformat()}

    @dlt.resource(name="org_hours", write_disposition="merge", primary_key=list(ORG_HOURS_KEY))
    def org_hours() -> Iterator[pa.Table]:
        # Rows are per hour: re-read whole windows so a re-read replaces an hour with all of it.
        yield from run_queries(
            "org_hours", "org_hours", {},
            lambda last: floor_to_window(last - overlap, window) if overlap else last,
        )

    @dlt.source(name="clickhouse_logs", max_table_nesting=0)
    def source() -> Any:
        return (org_hours,)

    return source()
