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
import polars as pl

from altor_pipelines.warehouse.duckdb import SQL_DIR
from altor_pipelines.warehouse.sql_runner import SqlModel, discover, ordered, run_model

UPSTREAM = frozenset({"intermediate.int_account_spine"})

CAUSES = (
    "known_bug", "deploy_regression", "platform_incident", "plan_limit", "billing_issue",
    "customer_integration", "how_to", "misrouted", "novel",
)


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
    ticket_ids: Iterable[int] | None = None,
    as_of: datetime | None = None,
    clickhouse_database: str = "altor",
    sql_dir: Path = SQL_DIR,
    timings: dict[str, float] | None = None,
) -> dict[str, int]:
    """Build features, rule scores and evidence for all tickets (default, each at its creation
    time) or for `ticket_ids` investigated at `as_of`. Returns rows per table.

    The tables are replaced: a live run over a subset leaves only that subset in them.
    """
    params = investigation_params(ticket_ids, as_of, clickhouse_database)
    rows: dict[str, int] = {}
    for model in investigation_models(sql_dir):
        started = time.perf_counter()
        rows[model.table] = run_model(con, model, params)
        if timings is not None:
            timings[model.table] = time.perf_counter() - started
    return rows


def evaluate_heuristics(
    con: duckdb.DuckDBPyConnection,
    truth_csv_path: str | Path,
    since: datetime | None = None,
) -> pl.DataFrame:
    """Per-cause precision, recall, F1 and support of `heuristics.rule_scores.best_rule_cause`
    against a world's `truth/tickets.csv` (read here only, never by the pipeline).

    Scores tickets present in both (created at or after `since` when given, e.g. go-live).
    One row per cause of the taxonomy plus a `macro` row (mean over causes with support).
    """
    rows = con.execute(
        """
        WITH truth AS (
            SELECT CAST(ticket_id AS BIGINT) AS ticket_id, root_cause,
                   CAST(created_at AS TIMESTAMP) AS created_at
            FROM read_csv($path, header = true, all_varchar = true)
        ),
        scored AS (
            SELECT t.root_cause AS truth, r.best_rule_cause AS predicted
            FROM truth AS t JOIN heuristics.rule_scores AS r USING (ticket_id)
            WHERE CAST($since AS TIMESTAMP) IS NULL OR t.created_at >= CAST($since AS TIMESTAMP)
        )
        SELECT c.cause,
            count(*) FILTER (WHERE s.truth = c.cause AND s.predicted = c.cause) AS tp,
            count(*) FILTER (WHERE s.truth <> c.cause AND s.predicted = c.cause) AS fp,
            count(*) FILTER (WHERE s.truth = c.cause AND s.predicted <> c.cause) AS fn
        FROM unnest($causes) AS c(cause) CROSS JOIN scored AS s
        GROUP BY c.cause
        """,
        {"path": str(truth_csv_path), "since": since, "causes": list(CAUSES)},
    ).fetchall()
    counts = {cause: (tp, fp, fn) for cause, tp, fp, fn in rows}
    out = []
    for cause in CAUSES:
        tp, fp, fn = counts.get(cause, (0, 0, 0))
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        out.append({"cause": cause, "precision": precision, "recall": recall, "f1": f1,
                    "support": tp + fn, "predicted": tp + fp})
    with_support = [r for r in out if r["support"]]
    n = len(with_support) or 1
    out.append({"cause": "macro",
                "precision": sum(r["precision"] for r in with_support) / n,
                "recall": sum(r["recall"] for r in with_support) / n,
                "f1": sum(r["f1"] for r in with_support) / n,
                "support": sum(r["support"] for r in out),
                "predicted": sum(r["predicted"] for r in out)})
    return pl.DataFrame(out)
