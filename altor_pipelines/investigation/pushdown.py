"""The investigation's log inputs, computed inside ClickHouse per ticket (issue #15).

The request logs stay in ClickHouse. The tickets to investigate (id, org key, investigation
time, as listed by a DuckDB query in `sql/features/pushdown/`) go to ClickHouse as bound array
parameters, in batches of tickets sorted by time, so each batch scans only the time range its
windows need; what comes back is one row per ticket and window (`sql/clickhouse/ticket_*.sql`),
loaded into the warehouse as `logs.<query>`. Bytes moved grow with tickets, not with log volume.

Point-in-time: every window ends at or before the ticket's investigation time (the queries cut
at `toStartOfMinute(t)`, the same minute buckets as the warehouse models).

The same code runs on chDB and on a ClickHouse server (`ClickHouseAccess`): the parameters are
server-side (`{name:Type}`), never formatted into the SQL. chDB has no external tables, hence
arrays rather than an external table.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from altor_pipelines.sources.clickhouse_logs import (
    ClickHouseSyncStats,
    QueryRecord,
    _for_dlt,
    fetch_arrow,
)
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess, clickhouse_sql
from altor_pipelines.warehouse.duckdb import sql_text

LOGS_SCHEMA = "logs"
DEFAULT_BATCH = 2000


@dataclass(frozen=True)
class TicketQuery:
    """One pushed-down query: the ticket list it takes (a DuckDB query) and how far back
    before the earliest investigation time of a batch its windows reach."""

    name: str  # sql/clickhouse/<name>.sql; the result is logs.<name>
    tickets_sql: str  # sql/features/pushdown/<tickets_sql>.sql
    lookback: timedelta  # the minute windows (start parameter)
    long_lookback: timedelta  # the hour-aligned windows (start_30d parameter)


TICKET_WINDOWS = TicketQuery("ticket_windows", "ticket_list", timedelta(hours=193),
                             timedelta(days=30, hours=1))


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _naive(table: pa.Table) -> pa.Table:
    """Timestamps as the warehouse keeps them: UTC without a zone."""
    table = _for_dlt(table)
    for i, f in enumerate(table.schema):
        if pa.types.is_timestamp(f.type) and f.type.tz is not None:
            naive = pa.timestamp(f.type.unit)
            table = table.set_column(i, f.with_type(naive), table.column(i).cast(naive))
    return table


def run_ticket_query(
    con: duckdb.DuckDBPyConnection,
    access: ClickHouseAccess,
    query: TicketQuery = TICKET_WINDOWS,
    params: dict[str, Any] | None = None,
    batch: int = DEFAULT_BATCH,
    stats: ClickHouseSyncStats | None = None,
) -> int:
    """Run one pushed-down query for the tickets its DuckDB list names; (re)creates
    `logs.<name>` and returns its row count."""
    listing = sql_text(f"features/pushdown/{query.tickets_sql}.sql")
    wanted = {k: v for k, v in (params or {}).items() if f"${k}" in listing}
    tickets = con.execute(listing, wanted or None).fetchall()
    sql = clickhouse_sql(query.name)
    target = f"{LOGS_SCHEMA}.{query.name}"
    con.execute(f"CREATE SCHEMA IF NOT EXISTS {LOGS_SCHEMA}")
    created = False
    for at in range(0, len(tickets), batch):
        chunk = tickets[at: at + batch]
        times = [_utc(t) for _, _, t in chunk]
        first, last = min(times), max(times)
        bound = {
            "database": access.database,
            "ticket_ids": [int(i) for i, _, _ in chunk],
            "org_ids": [org or "" for _, org, _ in chunk],
            "investigated_at": times,
            "start": first - query.lookback,
            "start_30d": first - query.long_lookback,
            "end": last,
        }
        started = time.perf_counter()
        with access.client() as client:
            table, size = fetch_arrow(client, sql, bound)
        if stats is not None:
            stats.queries.append(QueryRecord(query.name, "tickets", first, last,
                                             table.num_rows, size,
                                             time.perf_counter() - started))
        result = _naive(table)  # noqa: F841 - read by DuckDB's replacement scan below
        if not created:
            con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM result")
            created = True
        else:
            con.execute(f"INSERT INTO {target} SELECT * FROM result")
    if not created:
        con.execute(f"CREATE OR REPLACE TABLE {target} AS "
                    f"SELECT * FROM ({clickhouse_empty(query.name)})")
    return con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]


def clickhouse_empty(name: str) -> str:
    """The empty result of a pushed-down query (no tickets): its columns, no rows."""
    return sql_text(f"features/pushdown/{name}_empty.sql")
