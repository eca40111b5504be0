"""Features and labels for the triage classifier, read from the warehouse.

Generic on purpose: the feature columns are whatever the `features.*` ticket tables and
`heuristics.rule_scores` hold, minus keys, timestamps and anything whose name suggests the
answer. The tables are named in one place (`TableNames`); the columns chosen at training are
recorded (`FeatureSpec`) and serving uses exactly those.
"""

from __future__ import annotations

import logging
import re
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import duckdb
import polars as pl

from altor_pipelines.errors import AltorError, ModelRegistryError
from altor_pipelines.taxonomy import CAUSES
from altor_pipelines.warehouse.duckdb import sql_text

log = logging.getLogger(__name__)

KEY = "ticket_id"
TEXT = "text"
TIME = "created_at"
LABEL = "label"
RECORDED = "recorded_cause"
ESCALATED = "escalated_to_engineering"


@dataclass(frozen=True)
class TableNames:
    """Where the classifier reads: `features.fct_ticket_features` (the one-row-per-ticket table
    the feature SQL builds for it). `feature_tables=None`: every table of the `features` schema
    with one row per `ticket_id` instead."""

    feature_tables: tuple[str, ...] | None = ("features.fct_ticket_features",)
    feature_schema: str = "features"
    rule_scores: str = "heuristics.rule_scores"
    tickets: str = "staging.stg_zendesk__tickets"
    field_history: str = "staging.stg_zendesk__ticket_field_history"
    groups: str = "staging.stg_zendesk__groups"


TABLES = TableNames()

# Keys and times: never features. Any `*_id`, `*_ids`, `*_at`, `*_url` column too, and every
# column of a temporal, list, struct or map type.
EXCLUDED_COLUMNS: frozenset[str] = frozenset({
    "ticket_id", "id", "organization_id", "org_id", "requester_id", "submitter_id",
    "assignee_id", "group_id", "account_id", "customer_id", "stripe_customer_id",
    "zendesk_organization_id", "api_key_id", "subscription_id", "invoice_id", "deployment_id",
    "issue_id", "identifier", "sha", "url", "as_of", "investigated_at", "created_at",
    "updated_at", "onset_at", "window_start", "window_end", "minute", "ts", "subject",
    "description", "text", "rules_fired",
})
_EXCLUDED_PATTERN = re.compile(r"(_ids?|_at|_url|_sha|_time|_date|_identifier)$")
# A column whose name suggests the answer is refused outright (training stops, naming it).
TRUTH_PATTERN = re.compile(
    r"truth|recorded|should_escalate|ground_truth|(^|_)labels?$|^label_|(^|_)target$"
    r"|(^|_)true_|(^|_)root_cause(_|$)|escalated_to_engineering",
    re.IGNORECASE,
)
MAX_CATEGORIES = 30  # a string column with more distinct values is an identifier, not a category
_NUMERIC = re.compile(
    r"^(TINYINT|SMALLINT|INTEGER|BIGINT|HUGEINT|UTINYINT|USMALLINT|UINTEGER|UBIGINT|UHUGEINT|"
    r"FLOAT|REAL|DOUBLE|DECIMAL.*|BOOLEAN)$"
)
_IDENT = re.compile(r"^[a-z_][a-z0-9_]*\.[a-z_][a-z0-9_]*$", re.IGNORECASE)


class FeatureLeakageError(AltorError):
    """A feature would carry the answer, or does not match the registered feature list."""


@dataclass(frozen=True)
class FeatureColumn:
    table: str
    column: str  # name in the table
    name: str  # name in the feature frame
    kind: str  # "numeric" | "categorical"


@dataclass
class FeatureSpec:
    """The columns a model reads: recorded in its metadata, enforced when it serves."""

    columns: list[FeatureColumn]
    rule_score_columns: dict[str, str]  # cause -> feature name (for the heuristics baseline)
    rules_fired_column: str | None
    tables: list[str]
    excluded: dict[str, str] = field(default_factory=dict)  # "table.column" -> reason

    @property
    def numeric(self) -> list[str]:
        return [c.name for c in self.columns if c.kind == "numeric"]

    @property
    def categorical(self) -> list[str]:
        return [c.name for c in self.columns if c.kind == "categorical"]

    @property
    def feature_names(self) -> list[str]:
        """Model input columns, in order: numeric, categorical, then the text."""
        return self.numeric + self.categorical + [TEXT]

    def rule_columns(self) -> list[str]:
        rules = TABLES.rule_scores
        return [c.name for c in self.columns if c.table == rules]

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [asdict(c) for c in self.columns],
                "rule_score_columns": self.rule_score_columns,
                "rules_fired_column": self.rules_fired_column, "tables": self.tables,
                "excluded": self.excluded}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> FeatureSpec:
        return cls(columns=[FeatureColumn(**c) for c in d["columns"]],
                   rule_score_columns=dict(d["rule_score_columns"]),
                   rules_fired_column=d.get("rules_fired_column"), tables=list(d["tables"]),
                   excluded=dict(d.get("excluded", {})))


def _sql(name: str) -> str:
    return sql_text(f"diagnosis/{name}")


def _frame(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None = None) -> pl.DataFrame:
    """Run one read query and fetch it completely into polars."""
    return con.sql(sql, params=params).pl()


def _check_ident(table: str) -> str:
    if not _IDENT.match(table):
        raise ValueError(f"not a schema.table name: {table!r}")
    return table


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = _check_ident(table).split(".")
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return rows[0][0] > 0


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {_check_ident(table)}").fetchall()
    return [(r[0], str(r[1])) for r in rows]


def discover_feature_tables(
    con: duckdb.DuckDBPyConnection, tables: TableNames = TABLES
) -> list[str]:
    """The feature tables to read: `tables.feature_tables`, else every table of the feature
    schema with a unique `ticket_id` column."""
    if tables.feature_tables is not None:
        return list(tables.feature_tables)
    names = con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
        "ORDER BY table_name", [tables.feature_schema],
    ).fetchall()
    found = []
    for (name,) in names:
        table = f"{tables.feature_schema}.{name}"
        if KEY not in {c for c, _ in _columns(con, table)}:
            continue
        n, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT {KEY}) FROM {_check_ident(table)}"
        ).fetchall()[0]
        if n == distinct:
            found.append(table)
    return found


def guard_truth(name: str, where: str = "") -> None:
    """Refuse a column whose name suggests it carries the answer."""
    if TRUTH_PATTERN.search(name):
        raise FeatureLeakageError(
            f"column {name!r}{' of ' + where if where else ''} looks like a label or truth "
            "column and may not be a feature; rename it or drop it from the feature SQL"
        )


def _classify(con: duckdb.DuckDBPyConnection, table: str, column: str, dtype: str) -> str:
    """numeric | categorical | list | excluded:<reason>."""
    lowered = column.lower()
    if dtype.endswith("[]") or dtype.startswith(("STRUCT", "MAP", "UNION")):
        return "list"
    if lowered in EXCLUDED_COLUMNS or _EXCLUDED_PATTERN.search(lowered):
        return "excluded:key or time"
    if _NUMERIC.match(dtype):
        return "numeric"
    if dtype.startswith(("VARCHAR", "ENUM")):
        n = con.execute(
            f"SELECT count(DISTINCT {_quote(column)}) FROM {_check_ident(table)}"
        ).fetchall()[0][0]
        if n > MAX_CATEGORIES:
            return f"excluded:{n} distinct values (identifier or free text)"
        return "categorical"
    return f"excluded:type {dtype}"


def infer_feature_spec(con: duckdb.DuckDBPyConnection, tables: TableNames = TABLES) -> FeatureSpec:
    """Choose the feature columns from the warehouse as it is now (done once, at training)."""
    feature_tables = discover_feature_tables(con, tables)
    if not feature_tables:
        raise FeatureLeakageError(
            f"no ticket feature table found (schema {tables.feature_schema}, named "
            f"{tables.feature_tables})")
    sources = feature_tables + ([tables.rule_scores] if table_exists(con, tables.rule_scores)
                                else [])
    columns: list[FeatureColumn] = []
    excluded: dict[str, str] = {}
    rules_fired = None
    taken: set[str] = {KEY, TEXT, TIME, LABEL, RECORDED, ESCALATED}
    for table in sources:
        for column, dtype in _columns(con, table):
            kind = _classify(con, table, column, dtype)
            if kind.startswith("excluded:"):
                excluded[f"{table}.{column}"] = kind.removeprefix("excluded:")
                continue
            guard_truth(column, table)
            if kind == "list":
                if table == tables.rule_scores and "fired" in column.lower():
                    rules_fired = column
                excluded[f"{table}.{column}"] = f"type {dtype}"
                continue
            name = column if column not in taken else f"{table.split('.')[1]}__{column}"
            taken.add(name)
            columns.append(FeatureColumn(table, column, name, kind))
    rule_scores = {}
    for cause in CAUSES:
        candidates = [c for c in columns if c.table == tables.rule_scores and c.kind == "numeric"
                      and cause in c.column.lower()]
        if candidates:
            rule_scores[cause] = sorted(candidates, key=lambda c: "score" not in c.column)[0].name
    return FeatureSpec(columns, rule_scores, rules_fired, sources, excluded)


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
        present = {c for c, _ in _columns(con, table)}
        missing = [c.column for c in wanted if c.column not in present]
        if missing:
            raise ModelRegistryError(
                f"feature table {table} lacks registered feature columns {missing}; the model "
                "was trained on other features: retrain it"
            )
        extra = []
        if table == tables.rule_scores and spec.rules_fired_column in present:
            extra = [f"{_quote(spec.rules_fired_column)} AS rules_fired"]
        select = [KEY] + [f"{_quote(c.column)} AS {_quote(c.name)}" for c in wanted] + extra
        part = _frame(con, f"SELECT {', '.join(select)} FROM {_check_ident(table)}")
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
    """Recorded causes of solved/closed tickets created before `before`: ticket_id,
    created_at, recorded_cause (raw), label (taxonomy cause or null when the recorded value is
    not one), escalated_to_engineering."""
    history = table_exists(con, tables.field_history) and table_exists(con, tables.groups)
    sql = _sql("labels.sql" if history else "labels_no_history.sql")
    frame = _frame(con, sql, {"before": before})
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
    cols = _columns(con, table)
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
                f"SELECT count(*) FROM {_check_ident(table)} "
                f"WHERE {_quote(c)} > {_quote(time_column)}"
            ).fetchall()[0][0]
    return out
