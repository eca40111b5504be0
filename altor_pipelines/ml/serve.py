"""Serving: diagnose tickets with the current model and write `diagnosis.diagnoses`.

`build_diagnoses` is what the Dagster `diagnoses` asset calls. It loads the version named by
the registry's pointer file (refusing one built for other feature SQL or libraries), reads
exactly the registered feature columns, and writes one row per ticket and model version
(re-running replaces that version's rows, so it is idempotent).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl

from altor_pipelines.clock import naive_utc
from altor_pipelines.ml.baselines import rule_causes
from altor_pipelines.ml.dataset import assert_registered, feature_matrix, load_ticket_frame
from altor_pipelines.ml.decision import confidence_band
from altor_pipelines.ml.feature_spec import KEY, TABLES, TableNames
from altor_pipelines.ml.registry import LoadedModel, current_version, load_model
from altor_pipelines.ml.train import full_proba
from altor_pipelines.taxonomy import CAUSES, action_for
from altor_pipelines.warehouse.duckdb import SQL_DIR, sql_text, table_exists

DIAGNOSES_TABLE = "diagnosis.diagnoses"
SCHEMA = {
    "ticket_id": pl.Int64, "model_version": pl.String, "cause": pl.String,
    "top_cause": pl.String, "top_probability": pl.Float64, "probabilities": pl.String,
    "confidence_band": pl.String, "escalate": pl.Boolean, "abstained": pl.Boolean,
    "action": pl.String, "threshold": pl.Float64, "rules_fired": pl.List(pl.String),
    "diagnosed_at": pl.Datetime("us"), "decided_by": pl.String,
    "estimated_precision": pl.Float64,
}


def diagnose_frame(loaded: LoadedModel, frame: pl.DataFrame,
                   now: datetime | None = None) -> pl.DataFrame:
    """Diagnoses (columns of `SCHEMA`) for a ticket frame from `dataset.load_ticket_frame`:
    the model's per-cause decisions (`decision.DecisionPolicy.apply`)."""
    now = naive_utc(now or datetime.now(UTC))
    spec = loaded.spec
    X = feature_matrix(frame, spec)
    assert_registered(X.columns, spec)
    if frame.height == 0:
        return pl.DataFrame(schema=SCHEMA)
    proba = full_proba(loaded.model, X, loaded.temperature)
    d = loaded.policy.apply(proba, rule_causes(frame, spec))
    names = np.array(CAUSES, dtype=object)
    top_cause = names[d.top]
    cause = np.where(d.delivered, names[np.maximum(d.cause, 0)], None)
    actions = [action_for(c) for c in cause]
    fired = frame["rules_fired"].to_list() if "rules_fired" in frame.columns else None

    def number(x: float) -> float | None:
        return None if np.isnan(x) else float(x)

    rows: list[dict[str, Any]] = [{
        "ticket_id": ticket_id, "model_version": loaded.version, "cause": cause[i],
        "top_cause": top_cause[i], "top_probability": float(d.top_probability[i]),
        "probabilities": json.dumps(dict(zip(CAUSES, np.round(proba[i], 6).tolist(),
                                             strict=True))),
        "confidence_band": confidence_band(float(d.top_probability[i]), bool(d.delivered[i])),
        "escalate": actions[i] == "escalate", "abstained": not d.delivered[i],
        "action": actions[i], "threshold": number(d.threshold[i]),
        "rules_fired": list(fired[i]) if fired and fired[i] is not None else [],
        "diagnosed_at": now, "decided_by": str(d.decided_by[i]),
        "estimated_precision": number(d.estimated_precision[i]),
    } for i, ticket_id in enumerate(frame[KEY].to_list())]
    return pl.DataFrame(rows, schema=SCHEMA)


def diagnose(
    con: duckdb.DuckDBPyConnection,
    models_root: Path,
    sql_dir: Path = SQL_DIR,
    ticket_ids: list[int] | None = None,
    now: datetime | None = None,
    tables: TableNames = TABLES,
    version: str | None = None,
) -> pl.DataFrame:
    """Diagnose every ticket with features (or only `ticket_ids`) with the current model."""
    loaded = load_model(models_root, version, sql_dir)
    frame = load_ticket_frame(con, loaded.spec, ticket_ids, tables)
    return diagnose_frame(loaded, frame, now)


def ensure_diagnoses_table(con: duckdb.DuckDBPyConnection) -> None:
    """Create `diagnosis.diagnoses` empty if it is missing, from its one definition
    (sql/diagnoses_table.sql), so the classifier, the live path and the marts agree on it."""
    con.execute("CREATE SCHEMA IF NOT EXISTS diagnosis")
    con.execute(sql_text("diagnosis/diagnoses_table.sql"))
    # a table created before per-cause decisions gains their columns (NULL in old rows)
    con.execute(sql_text("diagnosis/diagnoses_table_upgrade.sql"))


def write_diagnoses(con: duckdb.DuckDBPyConnection, diagnoses: pl.DataFrame) -> int:
    """Insert or replace rows of `diagnosis.diagnoses` (key: ticket_id, model_version)."""
    ensure_diagnoses_table(con)
    if diagnoses.is_empty():
        return 0
    con.register("_diagnoses", diagnoses.select(list(SCHEMA)).to_arrow())
    try:
        con.execute(
            "INSERT OR REPLACE INTO diagnosis.diagnoses (ticket_id, model_version, cause, "
            "top_cause, top_probability, probabilities, confidence_band, escalate, abstained, "
            "action, threshold, rules_fired, diagnosed_at, decided_by, estimated_precision) "
            "SELECT ticket_id, model_version, cause, top_cause, top_probability, "
            "CAST(probabilities AS JSON), confidence_band, escalate, abstained, action, "
            "threshold, rules_fired, diagnosed_at, decided_by, estimated_precision "
            "FROM _diagnoses"
        )
    finally:
        con.unregister("_diagnoses")
    return diagnoses.height


def read_diagnoses(con: duckdb.DuckDBPyConnection, model_version: str) -> pl.DataFrame:
    """One model version's diagnoses, as written."""
    return con.sql(
        "SELECT * EXCLUDE (probabilities), CAST(probabilities AS VARCHAR) AS probabilities "
        "FROM diagnosis.diagnoses WHERE model_version = $v ORDER BY ticket_id",
        params={"v": model_version},
    ).pl()


def tickets_to_diagnose(con: duckdb.DuckDBPyConnection, models_root: Path) -> list[int] | None:
    """The tickets the scheduled diagnosis scores (sql/diagnosis/tickets_to_diagnose.sql);
    None (every ticket) before any diagnosis or investigation record exists."""
    version = current_version(models_root)
    needed = ("diagnosis.diagnoses", "intermediate.int_ticket_investigations",
              "features.fct_ticket_features")
    if version is None or not all(table_exists(con, t) for t in needed):
        return None
    return [r[0] for r in con.execute(sql_text("diagnosis/tickets_to_diagnose.sql"),
                                      {"model_version": version}).fetchall()]


def build_diagnoses(con: duckdb.DuckDBPyConnection, models_root: Path, sql_dir: Path = SQL_DIR,
                    **selection: Any) -> dict[str, Any]:
    """The `diagnoses` asset: `diagnose` (all tickets, or `ticket_ids=`; `now=`, `tables=`,
    `version=` as there) and write them. Returns a summary for the asset's metadata."""
    started = time.perf_counter()
    diagnoses = diagnose(con, models_root, sql_dir, **selection)
    written = write_diagnoses(con, diagnoses)
    seconds = time.perf_counter() - started
    return {
        "rows": written,
        "model_version": diagnoses["model_version"][0] if written else None,
        "delivered": int((~diagnoses["abstained"]).sum()) if written else 0,
        "abstained": int(diagnoses["abstained"].sum()) if written else 0,
        "escalated": int(diagnoses["escalate"].sum()) if written else 0,
        "by_model": int((diagnoses["decided_by"] == "model").sum()) if written else 0,
        "by_rule": int((diagnoses["decided_by"] == "rule").sum()) if written else 0,
        "delivered_share": round(float((~diagnoses["abstained"]).mean()), 4) if written
        else None,
        "by_cause": dict(diagnoses.group_by("cause").len().sort("cause").iter_rows())
        if written else {},
        "seconds": round(seconds, 3),
        "seconds_per_1000_tickets": round(1000 * seconds / written, 3) if written else None,
    }
