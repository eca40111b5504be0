"""Which tickets a scheduled investigation rebuilds, and how their rows join the rest.

A ticket's features are computed as of its creation time, so once the data up to that moment
stops changing, so do they. The batch therefore investigates only the tickets that are new, were
last investigated by other SQL or at another moment (the live path investigates later than
creation), or are younger than the settle window: the hours within which late data may still
arrive (`ALTOR_CLICKHOUSE_AUDIT_HOURS`, the horizon the ClickHouse sync re-checks). Every table
downstream of `intermediate.int_ticket_investigations` then swaps only those tickets' rows
(`TICKET_MERGE`). `heuristics.investigated_tickets` records what completed; deleting it makes
the next run investigate every ticket.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

import duckdb

from altor_pipelines.clock import as_of, naive_utc
from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.duckdb import sql_text, table_exists
from altor_pipelines.warehouse.sql_runner import Merge, SqlModel, reaching

INVESTIGATIONS = "intermediate.int_ticket_investigations"
COMPLETED = "heuristics.investigated_tickets"

# The tickets a run rebuilds are the ones it lists in int_ticket_investigations; rows of
# tickets deleted in the help desk go.
TICKET_MERGE = Merge(
    key="ticket_id",
    replaced=f"SELECT ticket_id FROM {INVESTIGATIONS}",
    kept="SELECT ticket_id FROM staging.stg_zendesk__tickets WHERE NOT coalesce(is_deleted, false)",
)


def merged_tables(models: Mapping[str, SqlModel]) -> set[str]:
    """The tables that hold rows per investigated ticket: every model that reads the
    investigations, directly or not."""
    return reaching(models, INVESTIGATIONS)


def settled_before(now: datetime, settle_hours: int) -> datetime:
    """Tickets created before this moment (and investigated) are not investigated again."""
    return now - timedelta(hours=settle_hours)


def settled_at_clock(settings: Settings) -> datetime:
    """`settled_before` at the settings' clock and settle window."""
    now = naive_utc(as_of(settings))
    assert now is not None
    return settled_before(now, settings.clickhouse_audit_hours)


def tickets_to_investigate(
    con: duckdb.DuckDBPyConnection, investigation_version: str, settled: datetime
) -> list[int] | None:
    """The tickets the batch investigates now; None means every ticket (nothing completed yet,
    or nothing to keep)."""
    if not table_exists(con, COMPLETED):
        return None
    rows = con.execute(
        sql_text("heuristics/incremental/tickets_to_investigate.sql"),
        {"investigation_version": investigation_version, "settled_before": settled},
    ).fetchall()
    if rows and len(rows) >= rows[0][1]:
        return None
    return [r[0] for r in rows]
