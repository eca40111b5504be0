"""Per-ticket investigation: point-in-time features, heuristic rules and their evidence.

Everything is set-based SQL in `sql/intermediate/int_ticket_*.sql`, `sql/features/` and
`sql/heuristics/`; this module only runs those models in order and evaluates the rules.

Investigation time: `intermediate.int_ticket_investigations` holds one row per ticket with
`investigated_at`. By default (history, training) it is the ticket's `created_at`; the live
path passes `as_of` (a later moment) and optionally `ticket_ids` (a subset). Every model after
it uses only data stamped at or before `investigated_at`.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import SQL_DIR
from altor_pipelines.warehouse.pushdown import PushdownStats
from altor_pipelines.warehouse.sql_runner import SqlModel, discover, ordered, run_model

UPSTREAM = frozenset({"intermediate.int_account_spine"})


def investigation_params(
    ticket_ids: Iterable[int] | None = None,
    as_of: datetime | None = None,
    clickhouse_database: str = "altor",
) -> dict[str, Any]:
    """The parameters the investigation models bind: `$ticket_ids` (None = every ticket),
    `$as_of` (None = each ticket at its creation time) and `$clickhouse_database` (named in
    the evidence's reproducing queries)."""
    return {"ticket_ids": None if ticket_ids is None else [int(t) for t in ticket_ids],
            "as_of": as_of, "clickhouse_database": clickhouse_database}


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
) -> dict[str, int]:
    """Build features, rule scores and evidence for all tickets (default, each at its creation
    time) or for `ticket_ids` investigated at `as_of`. Returns rows per table.

    The tables are replaced: a live run over a subset leaves only that subset in them.
    """
    params = investigation_params(ticket_ids, as_of, clickhouse_database)
    rows: dict[str, int] = {}
    for model in investigation_models(sql_dir):
        started = time.perf_counter()
        rows[model.table] = run_model(con, model, params, clickhouse, stats)
        if timings is not None:
            timings[model.table] = time.perf_counter() - started
    return rows
