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
last window it loaded. The state is committed with the load package, so a run that fails
mid-way leaves the cursor where the last good run put it.

Late rows (a log shipper that stalled, a replica catching up): a row stamped before
`closed_until` arrives after its hour was loaded.
- The next run first re-reads the whole windows of the last `reread_hours` before
  `closed_until` (ALTOR_CLICKHOUSE_REREAD_HOURS, default 3; an hour's row is only right when
  read whole), then loads the new windows. Rows are merged on (org_id, hour): a re-read
  replaces an hour, never adds it twice. A row up to `reread_hours` late is counted.
- Older hours are audited: the state keeps the requests loaded per hour for the last
  `audit_hours` (ALTOR_CLICKHOUSE_AUDIT_HOURS, default 48), and each run asks ClickHouse for
  one count per hour over them (`sql/clickhouse/hour_counts.sql`, one row per hour). An hour
  whose count changed is logged as a warning naming it (source, endpoint, record, field) and
  read again, so it ends equal to the logs. A count that fell (rows deleted in ClickHouse)
  is said too; an org with no row left in that hour keeps its loaded row.
- Rows arriving more than `audit_hours` late are not seen: the gap is this bound, stated here.

A query that fails (an error inside a 200, the server going away mid-query, a connection
refused) is retried `max_retries` times with exponential backoff before the run stops; the
error then names the query and the window and never shows the password.

Every query is parameterised server-side (`{start:DateTime64(3, 'UTC')}`...); the SQL lives in
`sql/clickhouse/`. All ClickHouse access goes through `ClickHouseAccess` (one query per lock
hold). What came back (rows, Arrow bytes, window bounds, per query) is recorded in a
`ClickHouseSyncStats` the caller can pass in, and a summary of the last run is kept in state.
"""

from __future__ import annotations

import logging
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

log = logging.getLogger(__name__)

ORG_HOURS_KEY = ("org_id", "hour")
DEFAULT_SETTLE = timedelta(minutes=5)
DEFAULT_REREAD_HOURS = 3
DEFAULT_AUDIT_HOURS = 48
_HOUR = timedelta(hours=1)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True)
class QueryRecord:
    """One query sent to ClickHouse by the source."""

    resource: str
    # "overlap" (re-read of the last hours loaded), "window" (new windows), "audit" (counts per
    # hour of older loaded hours), "late" (re-read of an audited hour that changed), "bounds"
    kind: str
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


def hour_sums(table: pa.Table, column: str) -> dict[str, int]:
    """`column` summed per `hour` of an org_hours (or hour_counts) table: {iso hour: sum}."""
    out: dict[str, int] = {}
    if not table.num_rows:
        return out
    for hour, n in zip(table.column("hour").to_pylist(), table.column(column).to_pylist(),
                       strict=True):
        key = _utc(hour).isoformat()
        out[key] = out.get(key, 0) + int(n or 0)
    return out


def hour_ranges(hours: list[datetime], window: timedelta) -> list[tuple[datetime, datetime]]:
    """The whole windows holding `hours`, adjacent ones joined: [(start, end)]."""
    out: list[tuple[datetime, datetime]] = []
    for start in sorted({floor_to_window(h, window) for h in hours}):
        if out and out[-1][1] == start:
            out[-1] = (out[-1][0], start + window)
        else:
            out.append((start, start + window))
    return out


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
    reread_hours: int = DEFAULT_REREAD_HOURS,
    audit_hours: int = DEFAULT_AUDIT_HOURS,
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
    query with hourly windows); the re-read of the last `reread_hours` is always its own query.
    `audit_hours`: how far back loaded hours are checked for late rows (0: not at all).
    `before_query(resource, kind, start, end)`: a hook called before each window query (tests
    use it to fail a run mid-way).
    """
    if window_minutes <= 0 or windows_per_query <= 0 or reread_hours < 0 or audit_hours < 0:
        raise ValueError("window_minutes and windows_per_query must be > 0, reread_hours and "
                         "audit_hours >= 0")
    if window_minutes % 60:
        raise ValueError("window_minutes must be whole hours (the rows are per hour)")
    db = database or access.database
    clock = _utc(until) if until is not None else datetime.now(UTC) - DEFAULT_SETTLE
    window = timedelta(minutes=window_minutes)
    reread = timedelta(hours=reread_hours)
    audit = timedelta(hours=audit_hours)
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

    def plan(state: dict[str, Any], resource: str) -> list[tuple[str, datetime, datetime]]:
        last = state.get("closed_until")
        if last is not None:
            last = _utc(datetime.fromisoformat(last))
            reread_from = floor_to_window(last - reread, window)
            ranges = [("late", s, e) for s, e in late_hours(state, resource, reread_from)]
            if reread_from < last:
                ranges.append(("overlap", reread_from, last))
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

    def late_hours(state: dict[str, Any], resource: str,
                   reread_from: datetime) -> list[tuple[datetime, datetime]]:
        """Audited hours before `reread_from` whose request count in ClickHouse is no longer
        the one loaded (rows arrived late), as ranges to read again; said in the log."""
        counts, counted_from = state.get("hour_counts"), state.get("counted_from")
        if not audit or counts is None or counted_from is None:
            return []
        start = max(_utc(datetime.fromisoformat(counted_from)),
                    floor_to_window(reread_from - audit, _HOUR))
        if start >= reread_from:
            return []
        if before_query is not None:
            before_query(resource, "audit", start, reread_from)
        t0 = time.perf_counter()
        table, size = fetch_retrying("hour_counts", clickhouse_sql("hour_counts"),
                                     {"database": db, "start": start, "end": reread_from},
                                     start, reread_from)
        run_stats.queries.append(QueryRecord(resource, "audit", start, reread_from,
                                             table.num_rows, size, time.perf_counter() - t0))
        now = hour_sums(table, "requests")
        loaded = {h: n for h, n in counts.items()
                  if start <= _utc(datetime.fromisoformat(h)) < reread_from}
        changed = sorted(h for h in set(now) | set(loaded) if now.get(h, 0) != loaded.get(h, 0))
        if not changed:
            return []
        said = ", ".join(f"{h[:16]}Z {loaded.get(h, 0)} -> {now.get(h, 0)} requests"
                         for h in changed[:10]) + (" ..." if len(changed) > 10 else "")
        fell = any(now.get(h, 0) < loaded.get(h, 0) for h in changed)
        log.warning(
            "clickhouse %s: %d hour(s) older than the %dh re-read window changed since they "
            "were loaded (rows arrived late%s): %s; reading them again (source=clickhouse, "
            "endpoint=%s, record=%s, field=requests)", resource, len(changed), reread_hours,
            "; fewer rows than loaded: deleted in ClickHouse?" if fell else "", said,
            resource, changed[0])
        return hour_ranges([_utc(datetime.fromisoformat(h)) for h in changed], window)

    def remember_counts(state: dict[str, Any], table: pa.Table, start: datetime,
                        end: datetime) -> None:
        """The requests per hour just read over [start, end) (whole hours), for the audit."""
        counts = state.setdefault("hour_counts", {})
        for h in [h for h in counts if start <= _utc(datetime.fromisoformat(h)) < end]:
            del counts[h]
        counts.update(hour_sums(table, "requests"))
        state.setdefault("counted_from", start.isoformat())

    def forget_old_counts(state: dict[str, Any]) -> None:
        last = state.get("closed_until")
        if last is None or "hour_counts" not in state:
            return
        keep_from = floor_to_window(_utc(datetime.fromisoformat(last)) - reread, window) - audit
        state["hour_counts"] = {h: n for h, n in state["hour_counts"].items()
                                if _utc(datetime.fromisoformat(h)) >= keep_from}

    def run_queries(resource: str, sql_name: str, extra: dict[str, Any]) -> Iterator[pa.Table]:
        state = dlt.current.resource_state()
        sql = clickhouse_sql(sql_name)
        totals = {"queries": 0, "rows": 0, "bytes": 0, "late_ranges": 0}
        for kind, start, end in plan(state, resource):
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
            totals["late_ranges"] += kind == "late"
            remember_counts(state, table, start, end)
            if table.num_rows:
                yield _for_dlt(table)
            if kind == "window":
                state["closed_until"] = end.isoformat()
        forget_old_counts(state)
        state["last_run"] = {**totals, "until": clock.isoformat()}

    @dlt.resource(name="org_hours", write_disposition="merge", primary_key=list(ORG_HOURS_KEY))
    def org_hours() -> Iterator[pa.Table]:
        # Rows are per hour: re-reads are whole windows, so one replaces an hour with all of it.
        yield from run_queries("org_hours", "org_hours", {})

    @dlt.source(name="clickhouse_logs", max_table_nesting=0)
    def source() -> Any:
        return (org_hours,)

    return source()
