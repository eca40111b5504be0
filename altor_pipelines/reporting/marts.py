"""Builds the metric marts (sql/marts) and the intermediate models they need.

The marts read `diagnosis.diagnoses` (the classifier's output). Before the first diagnosis run
that table does not exist yet; `ensure_diagnoses_table` creates it empty with the columns the
marts read, so every mart builds (model-performance marts are then empty).
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from altor_pipelines.ml.serve import ensure_diagnoses_table
from altor_pipelines.warehouse.sql_runner import discover, ordered, run_model

#: The intermediate models this package owns, and every mart.
METRIC_MODELS: tuple[str, ...] = (
    "intermediate.int_ticket_group_history",
    "intermediate.int_ticket_status_history",
    "intermediate.int_ticket_escalations",
    "intermediate.int_ticket_handling",
)


def build_metric_marts(
    con: duckdb.DuckDBPyConnection, go_live: datetime | str
) -> dict[str, int]:
    """(Re)build the intermediate models above and every mart; returns rows per table."""
    ensure_diagnoses_table(con)
    models = {t: m for t, m in discover(["intermediate", "marts"]).items()
              if t in METRIC_MODELS or m.layer == "marts"}
    params = {"go_live": go_live}
    return {m.table: run_model(con, m, params) for m in ordered(models)}
