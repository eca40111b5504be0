"""The heuristic rules alone, scored against a world's truth: `altor eval`'s second table."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

from altor_pipelines.metrics import label_scores
from altor_pipelines.taxonomy import CAUSES
from altor_pipelines.warehouse.duckdb import sql_text


def evaluate_heuristics(
    con: duckdb.DuckDBPyConnection,
    truth_csv_path: str | Path,
    since: datetime | None = None,
) -> pl.DataFrame:
    """Per-cause precision, recall, F1 and support of `heuristics.rule_scores.best_rule_cause`
    against a world's `truth/tickets.csv`.

    Scores tickets present in both (created at or after `since` when given, e.g. go-live).
    One row per cause of the taxonomy plus a `macro` row (mean over causes with support).
    """
    rows = con.execute(sql_text("sim/heuristic_predictions.sql"),
                       {"path": str(truth_csv_path), "since": since}).fetchall()
    truth = [r[0] for r in rows]
    predicted = [r[1] for r in rows]
    out = [{"cause": cause, **label_scores(truth, predicted, cause)} for cause in CAUSES]
    with_support = [r for r in out if r["support"]]
    n = len(with_support) or 1
    out.append({"cause": "macro",
                "precision": sum(r["precision"] for r in with_support) / n,
                "recall": sum(r["recall"] for r in with_support) / n,
                "f1": sum(r["f1"] for r in with_support) / n,
                "support": sum(r["support"] for r in out),
                "predicted": sum(r["predicted"] for r in out)})
    return pl.DataFrame(out)
