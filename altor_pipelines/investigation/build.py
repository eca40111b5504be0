"""Per-ticket investigation: point-in-time features, heuristic rules and their evidence.

Everything is set-based SQL in `sql/intermediate/int_ticket_*.sql`, `sql/features/` and
`sql/heuristics/`; this module only runs those models in order and evaluates the rules.

Investigation time: `intermediate.int_ticket_investigations` holds one row per ticket this
run investigates, with `investigated_at`. By default (history, training) it is the ticket's
`created_at`; the live path passes `as_of` (a later moment) and `ticket_ids` (a subset). Every
model after it uses only data stamped at or before `investigated_at`, and swaps only those
tickets' rows in its table (`investigation/incremental.py`): the other tickets' rows stay.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from altor_pipelines.investigation.incremental import (
    TICKET_MERGE,
    merged_tables,
    tickets_to_investigate,
)
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import SQL_DIR, table_exists
from altor_pipelines.warehouse.log_cache import LogCache
from altor_pipelines.warehouse.pushdown import PushdownStats
from altor_pipelines.warehouse.sql_runner import (
    PendingMerge,
    SqlModel,
    discover,
    finish_merges,
    investigation_version,
    ordered,
    run_model,
)

UPSTREAM = frozenset({"intermediate.int_account_spine"})


def investigation_params(
    ticket_ids: Iterable[int] | None = None,
    as_of: datetime | None = None,
    clickhouse_database: str = "altor",
    version: str | None = None,
) -> dict[str, Any]:
    """The parameters the investigation models bind: `$ticket_ids` (None = every ticket),
    `$as_of` (None = each ticket at its creation time), `$clickhouse_database` (named in
    the evidence's reproducing queries) and `$investigation_version` (recorded per ticket)."""
    return {"ticket_ids": None if ticket_ids is None else [int(t) for t in ticket_ids],
            "as_of": as_of, "clickhouse_database": clickhouse_database,
            "investigation_version": version or investigation_version()}


def investigation_models(sql_dir: Path = SQL_DIR) -> list[SqlModel]:
    """This stage's models in dependency order: features, heuristics, and the intermediate
    models they read (transitively), except the account spine, which is built upstream."""
    every = discover(("intermediate", "features", "heuristics"), sql_dir)
    wanted = {t for t, m in every.items() if m.layer != "intermediate"}
    todo = list(wanted)
    while todo:
        for ref in every[todo.pop()].references():
            if ref in every and ref not in wanted and ref not in UPSTREAM:
                wanted.add(ref)
                todo.append(ref)
    return ordered({t: every[t] for t in wanted})


def build_investigation(
    con: duckdb.DuckDBPyConnection,
    clickhouse: ClickHouseAccess,
    ticket_ids: Iterable[int] | None = None,
    as_of: datetime | None = None,
    clickhouse_database: str = "altor",
    sql_dir: Path = SQL_DIR,
    timings: dict[str, float] | None = None,
    stats: PushdownStats | None = None,
    settled_before: datetime | None = None,
    log_cache: LogCache | None = None,
) -> dict[str, int]:
    """Build features, rule scores and evidence for `ticket_ids` investigated at `as_of`;
    without them, for the tickets `tickets_to_investigate` picks (`settled_before` given) or
    for every ticket, each at its creation time. Other tickets' rows stay in the tables.
    `log_cache` (the live path: a few tickets at now) computes the platform-wide log models
    from the warehouse's copy of the request minutes instead of scanning every customer's
    requests in ClickHouse (`warehouse/log_cache.py`); the values are the same.

    Returns rows per table; under `INVESTIGATIONS`, the number of tickets investigated.
    """
    version = investigation_version(sql_dir)
    if ticket_ids is None and settled_before is not None:
        ticket_ids = tickets_to_investigate(con, version, settled_before)
    params = investigation_params(ticket_ids, as_of, clickhouse_database, version)
    models = investigation_models(sql_dir)
    merged = merged_tables({m.table: m for m in models})
    rows: dict[str, int] = {}
    # A run of some tickets: a merged model's new rows wait beside its table until the end,
    # and the models after it read those instead of the whole table, so a few tickets cost a
    # few tickets' rows, not every ticket's (each merged table holds rows per ticket only).
    # Not for every ticket (each table would be held twice), nor while a merged table is
    # missing (it must be built with every ticket's rows).
    subset = params["ticket_ids"] is not None and all(table_exists(con, t) for t in merged)
    pending: list[PendingMerge] | None = [] if subset else None
    for model in models:
        started = time.perf_counter()
        merge = TICKET_MERGE if model.table in merged else None
        reads = {p.model.table: p.incoming for p in pending or ()}
        rows[model.table] = run_model(con, model, params, clickhouse, stats, merge, log_cache,
                                      reads=reads, merge_later=pending)
        if timings is not None:
            timings[model.table] = time.perf_counter() - started
    started = time.perf_counter()
    rows |= finish_merges(con, pending or [])
    if timings is not None:
        timings["merges"] = time.perf_counter() - started
    return rows
