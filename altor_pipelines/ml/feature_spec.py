"""Which columns are the classifier's features: the tables they come from (`TableNames`), the
columns chosen at training (`FeatureSpec`: whatever the `features.*` ticket tables and
`heuristics.rule_scores` hold, minus keys, timestamps and anything whose name suggests the
answer), recorded so serving uses exactly those."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any

import duckdb

from altor_pipelines.errors import AltorError
from altor_pipelines.taxonomy import CAUSES

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


def checked_table(table: str) -> str:
    if not _IDENT.match(table):
        raise ValueError(f"not a schema.table name: {table!r}")
    return table


def quoted(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def table_exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    schema, name = checked_table(table).split(".")
    rows = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = ? AND table_name = ?",
        [schema, name],
    ).fetchall()
    return rows[0][0] > 0


def columns_of(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple[str, str]]:
    rows = con.execute(f"DESCRIBE SELECT * FROM {checked_table(table)}").fetchall()
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
        if KEY not in {c for c, _ in columns_of(con, table)}:
            continue
        n, distinct = con.execute(
            f"SELECT count(*), count(DISTINCT {KEY}) FROM {checked_table(table)}"
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
            f"SELECT count(DISTINCT {quoted(column)}) FROM {checked_table(table)}"
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
        for column, dtype in columns_of(con, table):
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
