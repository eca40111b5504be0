"""The warehouse's copy of the request logs' per-customer minutes and terms, for the live path.

A live cycle investigates a handful of tickets at now. Three pushed-down models are
platform-wide: `ticket_windows` (the platform's minutes), `ticket_platform_share` (every other
customer's last hour and baseline) and `log_vocabulary` (every term ever logged). In ClickHouse
each cycle they scan every customer's requests over 193 h (the vocabulary: all of them) at
request-minute grain, though what they read only grows at its end. With a `LogCache` they are
computed in DuckDB (`sql/features/pushdown/cached/<name>.sql`) from a copy kept in the warehouse:

- `log_cache.request_minutes` (org_id, minute, requests, n_4xx, n_429, n_5xx, p95_wsum,
  p99_wsum): per customer and whole minute, what `sql/clickhouse/request_minutes.sql` returns;
- `log_cache.log_terms` (kind, term, first_ts, rows): `sql/clickhouse/request_terms.sql`, every
  request before `terms_to`;
- `log_cache.coverage`: the minutes held, [minutes_from, minutes_to), `terms_to`, and a key of
  the store, database and queries that filled them (another key: the copy starts again).

Before a model reads the copy, the range its tickets need is brought up to date: minutes not
held are fetched, and every held hour of the range is audited (`hour_counts.sql`, a count
without quantiles): an hour whose count in ClickHouse differs from the copy's (rows that arrived
late) is fetched again. The terms are audited by their total count (`request_count.sql`) and
fetched again from the start when it changed. So what a model reads equals what ClickHouse holds
at that moment, as the pushed-down query would see it. The copy holds minutes after some
tickets' investigation time; the DuckDB models read only minutes before it.

The copy and its queries are a way to run the same models, not a definition of features: they
are in neither the investigation version nor the model's feature SQL hash (a change to them
retrains and re-investigates nothing); the tests hold them to the pushed-down rows.
The ClickHouse user stays read-only: the copy is written in the warehouse only. A run whose
tickets need more than `max_span` of minutes (a batch over history) is pushed down as before.
One `LogCache` per run: it audits a range once.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from altor_pipelines.warehouse.clickhouse import ClickHouseAccess, clickhouse_sql
from altor_pipelines.warehouse.duckdb import SQL_DIR
from altor_pipelines.warehouse.pushdown import PUSHDOWN_DIR, PushdownStats, query_arrow

SCHEMA = "log_cache"
CACHED_DIR = PUSHDOWN_DIR / "cached"
MINUTES = f"{SCHEMA}.request_minutes"
TERMS = f"{SCHEMA}.log_terms"
COVERAGE = f"{SCHEMA}.coverage"
# which copy each DuckDB twin reads
TWINS = {"ticket_windows": "minutes", "ticket_platform_share": "minutes",
         "log_vocabulary": "terms"}
_QUERIES = ("request_minutes", "request_terms", "hour_counts", "request_count")
_EPOCH = datetime(1970, 1, 1)
_HOUR = timedelta(hours=1)
_MINUTE_COLUMNS = ("org_id", "minute", "requests", "n_4xx", "n_429", "n_5xx", "p95_wsum",
                   "p99_wsum")


def cached_sql(name: str, sql_dir: Path = SQL_DIR) -> str | None:
    """The DuckDB twin of the pushed-down model `name`, if it has one."""
    path = sql_dir / CACHED_DIR / f"{name}.sql"
    return path.read_text() if name in TWINS and path.exists() else None


_REACH = re.compile(r"investigated_at\s*-\s*INTERVAL\s+(\d+)\s+HOUR\)\s+AS\s+scan_from")


def minutes_reach(sql_dir: Path = SQL_DIR) -> timedelta:
    """How far before a ticket's investigation time the minute twins read: the longest
    `scan_from` of their listings (`sql/features/pushdown/<name>.sql`)."""
    hours = []
    for name in (n for n, kind in TWINS.items() if kind == "minutes"):
        path = sql_dir / PUSHDOWN_DIR / f"{name}.sql"
        found = _REACH.search(path.read_text())
        if found is None:
            raise ValueError(f"{path}: no 'investigated_at - INTERVAL <n> HOUR) AS scan_from'")
        hours.append(int(found.group(1)))
    return timedelta(hours=max(hours))


def queries_version(access: ClickHouseAccess) -> str:
    """The copy's key: the store and database it copies and the queries that filled it."""
    digest = hashlib.sha256(f"{access.key}|{access.database}".encode())
    for name in _QUERIES:
        digest.update(clickhouse_sql(name).encode())
    return digest.hexdigest()[:12]


def _minute(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _millisecond(value: datetime) -> datetime:
    # ClickHouse binds DateTime64(3) parameters truncated to the millisecond
    return value.replace(microsecond=value.microsecond // 1000 * 1000)


def _naive(value: datetime) -> datetime:
    return value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo else value


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC)


@dataclass
class Coverage:
    minutes_from: datetime | None = None
    minutes_to: datetime | None = None
    terms_to: datetime | None = None


@dataclass
class LogCache:
    """Builds the platform-wide pushed-down models from the warehouse's copy (module doc)."""

    access: ClickHouseAccess
    max_span: timedelta = timedelta(days=14)
    prune_after: timedelta = timedelta(days=1)  # minutes this far before a run's range go
    stats: PushdownStats | None = None
    _audited: set[tuple[datetime, datetime]] = field(default_factory=set)

    def build(self, con: duckdb.DuckDBPyConnection, name: str, listing_sql: str,
              params: dict[str, Any], target: str, sql_dir: Path = SQL_DIR,
              rewrite: Callable[[str], str] | None = None) -> bool:
        """(Re)create `target` with the DuckDB twin of `name` for the tickets `listing_sql`
        lists; False (nothing done) when `name` has no twin or the range is too wide.
        `rewrite`: applied to the twin's SQL (the tables a run reads in place of others)."""
        twin = cached_sql(name, sql_dir)
        if twin is None:
            return False
        if rewrite is not None:
            twin = rewrite(twin)
        cursor = con.execute(listing_sql, params or None)
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchall()
        ends = [r[columns.index("investigated_at")] for r in rows]
        ends = [_naive(e) for e in ends if e is not None]
        if ends:
            end = max(ends)
            if TWINS[name] == "terms":
                self._ensure_terms(con, _millisecond(end))
            else:
                starts = [_naive(r[columns.index("scan_from")]) for r in rows
                          if r[columns.index("scan_from")] is not None]
                start = _minute(min(starts)) if starts else _minute(end)
                if _minute(end) - start > self.max_span:
                    return False
                self._ensure_minutes(con, start, _minute(end))
        con.execute("CREATE SCHEMA IF NOT EXISTS logs")
        self._create(con)
        con.execute(f"CREATE OR REPLACE TABLE {target} AS\n{twin}")
        return True

    def warm(self, con: duckdb.DuckDBPyConnection, now: datetime) -> None:
        """Bring the copy up to `now`, as a cycle investigating a ticket at `now` would: the
        minutes of the twins' reach and every term. A loop does it once before it serves, so
        its first ticket does not wait for the copy's first fill."""
        now = _naive(now)
        self._ensure_minutes(con, _minute(now) - minutes_reach(), _minute(now))
        self._ensure_terms(con, _millisecond(now))

    # -- the copy --------------------------------------------------------------------------

    def _create(self, con: duckdb.DuckDBPyConnection) -> None:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {SCHEMA}")
        con.execute(f"""CREATE TABLE IF NOT EXISTS {MINUTES} (org_id VARCHAR,
            minute TIMESTAMP, requests DOUBLE, n_4xx DOUBLE, n_429 DOUBLE, n_5xx DOUBLE,
            p95_wsum DOUBLE, p99_wsum DOUBLE)""")
        con.execute(f"""CREATE TABLE IF NOT EXISTS {TERMS} (kind VARCHAR, term VARCHAR,
            first_ts TIMESTAMP, rows BIGINT)""")
        con.execute(f"""CREATE TABLE IF NOT EXISTS {COVERAGE} (version VARCHAR,
            minutes_from TIMESTAMP, minutes_to TIMESTAMP, terms_to TIMESTAMP)""")

    def _coverage(self, con: duckdb.DuckDBPyConnection) -> Coverage:
        self._create(con)
        version = queries_version(self.access)
        found = con.execute(f"SELECT version, minutes_from, minutes_to, terms_to "
                            f"FROM {COVERAGE}").fetchall()
        if found and found[0][0] == version:
            return Coverage(*found[0][1:])
        # first use, or the queries that filled the copy changed: start again
        con.execute(f"DELETE FROM {MINUTES}")
        con.execute(f"DELETE FROM {TERMS}")
        con.execute(f"DELETE FROM {COVERAGE}")
        con.execute(f"INSERT INTO {COVERAGE} VALUES (?, NULL, NULL, NULL)", [version])
        return Coverage()

    def _save(self, con: duckdb.DuckDBPyConnection, c: Coverage) -> None:
        con.execute(f"UPDATE {COVERAGE} SET minutes_from = ?, minutes_to = ?, terms_to = ?",
                    [c.minutes_from, c.minutes_to, c.terms_to])

    def _query(self, name: str, start: datetime, end: datetime) -> Any:
        bound = {"database": self.access.database, "start": _utc(start), "end": _utc(end)}
        return query_arrow(self.access, name, clickhouse_sql(name), bound,
                           f"{SCHEMA} [{start}, {end})", self.stats)

    def _fetch_minutes(self, con: duckdb.DuckDBPyConnection, start: datetime,
                       end: datetime) -> None:
        if start >= end:
            return
        fetched = self._query("request_minutes", start, end)
        con.execute(f"DELETE FROM {MINUTES} WHERE minute >= ? AND minute < ?", [start, end])
        con.register("log_cache_batch", fetched)
        try:
            con.execute(f"INSERT INTO {MINUTES} SELECT {', '.join(_MINUTE_COLUMNS)} "
                        f"FROM log_cache_batch")
        finally:
            con.unregister("log_cache_batch")

    def _changed_hours(self, con: duckdb.DuckDBPyConnection, start: datetime,
                       end: datetime) -> list[tuple[datetime, datetime]]:
        """The held ranges of [start, end) whose hour's count in ClickHouse is not the copy's,
        adjacent hours joined."""
        if start >= end:
            return []
        logged = self._hour_counts(start, end)
        held = {h: int(n) for h, n in con.execute(
            f"SELECT date_trunc('hour', minute), sum(requests) FROM {MINUTES} "
            f"WHERE minute >= ? AND minute < ? GROUP BY 1", [start, end]).fetchall()}
        changed: list[tuple[datetime, datetime]] = []
        for hour in sorted(h for h in logged.keys() | held.keys()
                           if logged.get(h, 0) != held.get(h, 0)):
            a, b = max(hour, start), min(hour + _HOUR, end)
            if changed and changed[-1][1] == a:
                changed[-1] = (changed[-1][0], b)
            else:
                changed.append((a, b))
        return changed

    def _hour_counts(self, start: datetime, end: datetime) -> dict[datetime, int]:
        table = self._query("hour_counts", start, end)
        return {_naive(h): int(n) for h, n in
                zip(table.column("hour").to_pylist(), table.column("requests").to_pylist(),
                    strict=True)}

    def _ensure_minutes(self, con: duckdb.DuckDBPyConnection, start: datetime,
                        end: datetime) -> None:
        """Make the copy hold [start, end) as ClickHouse holds it now."""
        if (start, end) in self._audited:
            return
        con.execute("BEGIN TRANSACTION")
        try:
            c = self._coverage(con)
            lo, hi = c.minutes_from, c.minutes_to
            if lo is None or hi is None or start > hi or end < lo:
                # nothing held, or nothing next to the range: start again
                con.execute(f"DELETE FROM {MINUTES}")
                self._fetch_minutes(con, start, end)
                lo, hi = start, end
            else:
                for a, b in self._changed_hours(con, max(start, lo), min(end, hi)):
                    self._fetch_minutes(con, a, b)
                if start < lo:
                    self._fetch_minutes(con, start, lo)
                    lo = start
                if end > hi:
                    self._fetch_minutes(con, hi, end)
                    hi = end
            if lo < start - self.prune_after:
                con.execute(f"DELETE FROM {MINUTES} WHERE minute < ?", [start])
                lo = start
            c.minutes_from, c.minutes_to = lo, hi
            self._save(con, c)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
        self._audited.add((start, end))

    def _fetch_terms(self, con: duckdb.DuckDBPyConnection, start: datetime,
                     end: datetime) -> None:
        fetched = self._query("request_terms", start, end)
        con.register("log_cache_batch", fetched)
        try:
            # merged by (kind, term): the first request of either range, rows added
            con.execute(f"""CREATE OR REPLACE TEMP TABLE log_cache_terms AS
                SELECT kind, term, min(first_ts) AS first_ts, sum(rows)::BIGINT AS rows
                FROM (SELECT kind, term, first_ts, rows FROM {TERMS}
                      UNION ALL
                      SELECT kind, term, first_ts, rows FROM log_cache_batch)
                GROUP BY kind, term""")
        finally:
            con.unregister("log_cache_batch")
        con.execute(f"DELETE FROM {TERMS}")
        con.execute(f"INSERT INTO {TERMS} SELECT * FROM log_cache_terms")
        con.execute("DROP TABLE log_cache_terms")

    def _ensure_terms(self, con: duckdb.DuckDBPyConnection, end: datetime) -> None:
        """Make the copy hold every term of the requests before `end` as ClickHouse does now."""
        con.execute("BEGIN TRANSACTION")
        try:
            c = self._coverage(con)
            if c.terms_to is not None:
                held = con.execute(f"SELECT coalesce(sum(rows), 0) FROM {TERMS} "
                                   f"WHERE kind = 'endpoint'").fetchall()[0][0]
                logged = self._query("request_count", _EPOCH, c.terms_to)
                if int(logged.column("requests")[0].as_py()) != int(held):
                    con.execute(f"DELETE FROM {TERMS}")  # rows arrived late: read again
                    c.terms_to = None
            if c.terms_to is None:
                self._fetch_terms(con, _EPOCH, end)
                c.terms_to = end
            elif end > c.terms_to:
                self._fetch_terms(con, c.terms_to, end)
                c.terms_to = end
            self._save(con, c)
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise
