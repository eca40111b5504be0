"""Features and labels for the triage classifier, read from the warehouse: the ticket frame of
the registered feature columns (`feature_spec.py` chooses them), the recorded labels, the
labelled dataset and its split in time, and the point-in-time check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from altor_pipelines.errors import ModelRegistryError
from altor_pipelines.ml.feature_spec import (
    KEY,
    LABEL,
    RECORDED,
    TABLES,
    TEXT,
    TIME,
    FeatureLeakageError,
    FeatureSpec,
    TableNames,
    checked_table,
    columns_of,
    infer_feature_spec,
    quoted,
    table_exists,
)
from altor_pipelines.taxonomy import CAUSES
from altor_pipelines.warehouse.duckdb import sql_text


def _sql(name: str) -> str:
    return sql_text(f"diagnosis/{name}")


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pl.DataFrame:
    """Run one read query and fetch it completely into polars."""
    return con.sql(sql, params=params).pl()



def load_ticket_frame(
    con: duckdb.DuckDBPyConnection,
    spec: FeatureSpec,
    ticket_ids: list[int] | None = None,
    tables: TableNames = TABLES,
) -> pl.DataFrame:
    """One row per ticket that has features: ticket_id, created_at, the spec's columns, text
    (and `rules_fired` when the rules table lists them). Missing registered columns are an
    error; columns a table gained since the spec was made are ignored."""
    base = _frame(con, _sql("ticket_text.sql"))
    frame: pl.DataFrame | None = None
    for table in spec.tables:
        wanted = [c for c in spec.columns if c.table == table]
        present = {c for c, _ in columns_of(con, table)}
        missing = [c.column for c in wanted if c.column not in present]
        if missing:
            raise ModelRegistryError(
                f"feature table {table} lacks registered feature columns {missing}; the model "
                "was trained on other features: retrain it"
            )
        extra = []
        if table == tables.rule_scores and spec.rules_fired_column in present:
            extra = [f"{quoted(spec.rules_fired_column)} AS rules_fired"]
        select = [KEY] + [f"{quoted(c.column)} AS {quoted(c.name)}" for c in wanted] + extra
        part = _frame(con, f"SELECT {', '.join(select)} FROM {checked_table(table)}")
        if frame is None:
            frame = part
        else:
            frame = frame.join(part, on=KEY, how="left")
    assert frame is not None
    frame = frame.join(base, on=KEY, how="inner")
    if ticket_ids is not None:
        frame = frame.filter(pl.col(KEY).is_in(list(ticket_ids)))
    if "rules_fired" not in frame.columns:
        frame = frame.with_columns(pl.lit(None, dtype=pl.List(pl.String)).alias("rules_fired"))
    return frame.sort([TIME, KEY])


def feature_matrix(frame: pl.DataFrame, spec: FeatureSpec) -> pl.DataFrame:
    """The model's input: exactly the registered columns, typed (numeric as Float64)."""
    missing = [c for c in spec.feature_names if c not in frame.columns]
    if missing:
        raise FeatureLeakageError(f"feature frame lacks registered columns {missing}")
    return frame.select(
        [pl.col(c).cast(pl.Float64) for c in spec.numeric]
        + [pl.col(c).cast(pl.String) for c in spec.categorical]
        + [pl.col(TEXT).cast(pl.String).fill_null("")]
    )


def assert_registered(columns: list[str], spec: FeatureSpec) -> None:
    """Refuse a model input whose columns are not exactly the registered feature list."""
    unknown = [c for c in columns if c not in spec.feature_names]
    missing = [c for c in spec.feature_names if c not in columns]
    if unknown or missing:
        raise FeatureLeakageError(
            f"model input columns differ from the registered feature list: "
            f"unregistered {unknown}, missing {missing}"
        )


def normalise_cause(value: str | None) -> str | None:
    if value is None:
        return None
    v = re.sub(r"[\s\-]+", "_", value.strip().lower())
    return v if v in CAUSES else None


def load_labels(
    con: duckdb.DuckDBPyConnection, before: datetime | None = None, tables: TableNames = TABLES
) -> pl.DataFrame:
    """Recorded causes of solved/closed tickets created before `before`, read from `tables`
    (a backtest passes the help desk as it stood at its window's start): ticket_id,
    created_at, recorded_cause (raw), label (taxonomy cause or null when the recorded value is
    not one), escalated_to_engineering."""
    history = table_exists(con, tables.field_history) and table_exists(con, tables.groups)
    params: dict[str, object] = {"before": before, "tickets": checked_table(tables.tickets)}
    if history:
        params |= {"field_history": checked_table(tables.field_history),
                   "groups": checked_table(tables.groups)}
    frame = _frame(con, _sql("labels.sql" if history else "labels_no_history.sql"), params)
    return frame.with_columns(
        pl.col(RECORDED).map_elements(normalise_cause, return_dtype=pl.String).alias(LABEL)
    )


@dataclass
class Dataset:
    frame: pl.DataFrame  # ticket frame + label columns, labelled tickets only, oldest first
    spec: FeatureSpec
    unknown_labels: dict[str, int]  # recorded values outside the taxonomy (dropped)

    def label_counts(self) -> dict[str, int]:
        counts = dict(self.frame.group_by(LABEL).len().iter_rows())
        return {c: int(counts.get(c, 0)) for c in CAUSES}


def load_dataset(
    con: duckdb.DuckDBPyConnection,
    before: datetime | None = None,
    spec: FeatureSpec | None = None,
    tables: TableNames = TABLES,
) -> Dataset:
    """Labelled tickets with their features (tickets created before `before`)."""
    spec = spec or infer_feature_spec(con, tables)
    labels = load_labels(con, before, tables)
    unknown = labels.filter(pl.col(LABEL).is_null()).group_by(RECORDED).len()
    frame = load_ticket_frame(con, spec, tables=tables).join(
        labels.drop(TIME).filter(pl.col(LABEL).is_not_null()), on=KEY, how="inner"
    )
    if frame.is_empty():
        raise FeatureLeakageError("no labelled tickets with features: nothing to train on")
    return Dataset(frame.sort([TIME, KEY]), spec, {k: int(v) for k, v in unknown.iter_rows()})


@dataclass
class TimeSplit:
    train: pl.DataFrame
    valid: pl.DataFrame
    test: pl.DataFrame

    def windows(self) -> dict[str, dict[str, Any]]:
        def w(f: pl.DataFrame) -> dict[str, Any]:
            return {"from": str(f[TIME].min()), "to": str(f[TIME].max()), "rows": f.height}

        return {"train": w(self.train), "valid": w(self.valid), "test": w(self.test)}


def time_split(frame: pl.DataFrame, fractions: tuple[float, float, float] = (0.7, 0.15, 0.15)
               ) -> TimeSplit:
    """Oldest tickets train, the next validate (calibration check, threshold), the newest test."""
    if abs(sum(fractions) - 1.0) > 1e-9:
        raise ValueError(f"split fractions must sum to 1: {fractions}")
    ordered = frame.sort([TIME, KEY])
    n = ordered.height
    a = int(round(n * fractions[0]))
    b = a + int(round(n * fractions[1]))
    return TimeSplit(ordered[:a], ordered[a:b], ordered[b:])


def point_in_time_violations(
    con: duckdb.DuckDBPyConnection, table: str, time_column: str | None = None
) -> dict[str, int]:
    """Rows per timestamp column stamped after the ticket's investigation time (should be 0)."""
    cols = columns_of(con, table)
    names = [c for c, _ in cols]
    time_column = time_column or next(
        (c for c in ("investigated_at", "as_of", "feature_time", "observed_at") if c in names),
        None,
    )
    if time_column is None:
        raise FeatureLeakageError(f"{table} has no investigation-time column to check against")
    out = {}
    for c, dtype in cols:
        if c != time_column and dtype.startswith(("TIMESTAMP", "DATE")):
            out[c] = con.execute(
                f"SELECT count(*) FROM {checked_table(table)} "
                f"WHERE {quoted(c)} > {quoted(time_column)}"
            ).fetchall()[0][0]
    return out
