"""Builds the metric marts (sql/marts) and the intermediate models they need.

The marts read `diagnosis.diagnoses` (the classifier's output). Before the first diagnosis run
that table does not exist yet; `ensure_diagnoses_table` creates it empty with the columns the
marts read, so every mart builds (model-performance marts are then empty).
"""

from __future__ import annotations

from datetime import datetime

import duckdb

from altor_pipelines.warehouse.sql_runner import discover, ordered, run_model

#: The columns of `diagnosis.diagnoses` the marts read (one row per diagnosis; a ticket may be
#: diagnosed more than once: the first, by diagnosed_at, is the one that counts).
DIAGNOSES_COLUMNS: dict[str, str] = {
    "ticket_id": "BIGINT",  # Zendesk ticket id
    "diagnosed_at": "TIMESTAMP",  # when the diagnosis was made (UTC)
    "root_cause": "VARCHAR",  # the stated cause; NULL when abstained
    "abstained": "BOOLEAN",  # true when the pipeline did not state a cause
    "should_escalate": "BOOLEAN",  # the decision's escalation advice
    "confidence": "DOUBLE",  # calibrated probability of the top cause
    "model_version": "VARCHAR",
}

#: The intermediate models this package owns, and every mart.
METRIC_MODELS: tuple[str, ...] = (
    "intermediate.int_ticket_group_history",
    "intermediate.int_ticket_status_history",
    "intermediate.int_ticket_escalations",
    "intermediate.int_ticket_handling",
)


def ensure_diagnoses_table(con: duckdb.DuckDBPyConnection) -> bool:
    """Create `diagnosis.diagnoses` empty if it is missing; True when it was created."""
    exists = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'diagnosis' "
        "AND table_name = 'diagnoses'"
    ).fetchall()[0][0]
    if exists:
        return False
    columns = ", ".join(f"{name} {kind}" for name, kind in DIAGNOSES_COLUMNS.items())
    con.execute("CREATE SCHEMA IF NOT EXISTS diagnosis")
    con.execute(f"CREATE TABLE diagnosis.diagnoses ({columns})")
    return True


def build_metric_marts(
    con: duckdb.DuckDBPyConnection, go_live: datetime | str
) -> dict[str, int]:
    """(Re)build the intermediate models above and every mart; returns rows per table."""
    ensure_diagnoses_table(con)
    models = {t: m for t, m in discover(["intermediate", "marts"]).items()
              if t in METRIC_MODELS or m.layer == "marts"}
    params = {"go_live": go_live}
    return {m.table: run_model(con, m, params) for m in ordered(models)}
