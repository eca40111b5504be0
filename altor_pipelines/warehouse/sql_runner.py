"""Runs the SQL models in `sql/<layer>/<name>.sql` against the warehouse.

Each file holds one SELECT; running it creates or replaces the table `<layer>.<name>`.
A model's dependencies are the `<layer>.<name>` tables it names, so the order is derived,
never written down twice. Parameters are bound by DuckDB (`$name`), never formatted in.

Pushed-down models (`sql/features/pushdown/<name>.sql`, discovered with the `features` layer)
build `logs.<name>` in ClickHouse from the tickets that file lists (`warehouse/pushdown.py`);
they take their place in the same order, and running one needs a `ClickHouseAccess`.

An incremental model is run with a `Merge`: its rows replace only the keys it was asked to
rebuild, and the table keeps the rest (as a dbt model materialized `incremental`).
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from graphlib import TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb

from altor_pipelines.clock import naive_utc, parse_time
from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess, clickhouse_sql
from altor_pipelines.warehouse.duckdb import SQL_DIR, table_exists
from altor_pipelines.warehouse.log_cache import LogCache
from altor_pipelines.warehouse.pushdown import (
    LOGS_SCHEMA,
    PUSHDOWN_DIR,
    PushdownStats,
    run_pushdown,
)

# The layer order, stated here and only here: a layer's models read the layers before it.
# `diagnosis` is written by the classifier (ml/serve.py), not by SQL files.
LAYERS = ("staging", "intermediate", "features", "heuristics", "diagnosis", "marts")
SQL_LAYERS = tuple(layer for layer in LAYERS if layer != "diagnosis")
_SCHEMAS = "|".join((*LAYERS, LOGS_SCHEMA))
_REFERENCE = re.compile(rf"\b({_SCHEMAS})\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)
# a reference however written (quoted, spaced), to find one `_REFERENCE` does not match
_LOOSE_REFERENCE = re.compile(rf'"?\b({_SCHEMAS})\b"?\s*\.\s*"?([a-z_][a-z0-9_]*)\b"?',
                              re.IGNORECASE)
_RAW_REFERENCE = re.compile(r"\braw_([a-z][a-z0-9]*)\s*\.", re.IGNORECASE)  # raw_<source>.
_PARAM = re.compile(r"(?<![:$\w])\$([a-z_][a-z0-9_]*)\b", re.IGNORECASE)
_COMMENT = re.compile(r"--[^\n]*")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SqlModel:
    layer: str  # `logs` for a pushed-down model
    name: str
    path: Path  # for a pushed-down model: its ticket list (DuckDB)

    @property
    def pushdown(self) -> bool:
        return self.layer == LOGS_SCHEMA

    @property
    def table(self) -> str:
        return f"{self.layer}.{self.name}"

    @property
    def sql(self) -> str:
        return self.path.read_text()

    def references(self) -> set[str]:
        body = _COMMENT.sub("", self.sql)
        return {f"{a.lower()}.{b.lower()}" for a, b in _REFERENCE.findall(body)} - {self.table}

    def sources_read(self) -> set[str]:
        """The sources whose raw tables (`raw_<source>.<table>`, dlt's schemas) it reads."""
        return {m.lower() for m in _RAW_REFERENCE.findall(_COMMENT.sub("", self.sql))}

    def parameters(self) -> set[str]:
        return set(_PARAM.findall(_COMMENT.sub("", self.sql)))


@dataclass(frozen=True)
class Merge:
    """How an incremental model's rows join its table: the rows of every `key` value the query
    `replaced` lists are swapped for the model's rows of those keys, rows whose key the query
    `kept` does not list are dropped, and the other rows stay. A model without the key column
    is replaced."""

    key: str
    replaced: str
    kept: str


INCOMING = "__incoming"  # a merged model's new rows wait in `<layer>__incoming.<name>`


def incoming_table(table: str) -> str:
    """Where a merged model's rows wait before they join `table` (same name, so a query that
    names the table unqualified, `ticket_traffic.col`, reads the same)."""
    layer, name = table.split(".")
    return f"{layer}{INCOMING}.{name}"


def reading(sql: str, reads: Mapping[str, str]) -> str:
    """`sql` with every table of `reads` replaced by the table it maps to. A reference the
    rewrite cannot see (quoted, `"features"."ticket_plan"`) would read stale rows: refused."""
    swapped = _REFERENCE.sub(lambda m: reads.get(f"{m[1].lower()}.{m[2].lower()}", m[0]), sql)
    left = {f"{a.lower()}.{b.lower()}" for a, b in _LOOSE_REFERENCE.findall(swapped)} & set(reads)
    if left:
        raise ValueError(f"SQL names {sorted(left)} in a form the run cannot point at its new "
                         "rows: write them as layer.name, unquoted")
    return swapped


def layer_span(first: str, last: str) -> tuple[str, ...]:
    """The SQL layers from `first` through `last`, in order."""
    return SQL_LAYERS[SQL_LAYERS.index(first): SQL_LAYERS.index(last) + 1]


def sql_parameters(settings: Settings) -> dict[str, Any]:
    """Values the SQL models may bind (`$name`); the runner passes each model only its own.

    The scheduled (batch) investigation looks at tickets as of their creation time (`as_of`
    NULL; `ticket_ids` NULL for every ticket, or those `investigation/incremental.py` picks);
    the live path passes its own (investigation/build.py).
    """
    return {
        "root_cause_field_id": settings.zendesk_root_cause_field_id,
        "go_live": naive_utc(parse_time(settings.go_live)),
        "as_of": None,
        "ticket_ids": None,
        "clickhouse_database": settings.clickhouse_database,
        "investigation_version": investigation_version(),
    }


def investigation_version(sql_dir: Path = SQL_DIR) -> str:
    """The version of the SQL a ticket's investigation runs (staging through heuristics): a
    ticket investigated by another version is investigated again."""
    return sql_version(discover(("staging", "intermediate", "features", "heuristics"),
                                sql_dir).values())


def sql_version(models: Iterable[SqlModel]) -> str:
    """A short hash of the models' SQL (and, for a pushed-down model, its ClickHouse query): a
    table built by another version may hold other values."""
    digest = hashlib.sha256()
    for model in sorted(models, key=lambda m: m.table):
        digest.update(model.table.encode())
        digest.update(model.sql.encode())
        if model.pushdown:
            digest.update(clickhouse_sql(model.name).encode())
    return digest.hexdigest()[:12]


def reaching(models: Mapping[str, SqlModel], root: str) -> set[str]:
    """The models that read `root`, directly or through other models of `models`."""
    found: set[str] = set()
    changed = True
    while changed:
        changed = False
        for table, model in models.items():
            if table not in found and model.references() & (found | {root}):
                found.add(table)
                changed = True
    return found


def discover(layers: Iterable[str] = SQL_LAYERS, sql_dir: Path = SQL_DIR) -> dict[str, SqlModel]:
    models: dict[str, SqlModel] = {}
    for layer in layers:
        for path in sorted((sql_dir / layer).glob("*.sql")):
            model = SqlModel(layer, path.stem, path)
            models[model.table] = model
        if layer == "features":
            for path in sorted((sql_dir / PUSHDOWN_DIR).glob("*.sql")):
                model = SqlModel(LOGS_SCHEMA, path.stem, path)
                models[model.table] = model
    return models


def ordered(models: Mapping[str, SqlModel]) -> list[SqlModel]:
    """Models in dependency order (a model after every model it reads)."""
    graph = {t: {r for r in m.references() if r in models} for t, m in models.items()}
    return [models[t] for t in TopologicalSorter(graph).static_order()]


def run_model(
    con: duckdb.DuckDBPyConnection,
    model: SqlModel,
    params: Mapping[str, Any] | None = None,
    clickhouse: ClickHouseAccess | None = None,
    stats: PushdownStats | None = None,
    merge: Merge | None = None,
    log_cache: LogCache | None = None,
    reads: Mapping[str, str] | None = None,
    merge_later: list[PendingMerge] | None = None,
) -> int:
    """(Re)build one model's table; returns its row count. A pushed-down model runs in
    ClickHouse (`clickhouse`), its query records going to `stats`, or, with `log_cache`, from
    the warehouse's copy of the logs when it can (`warehouse/log_cache.py`). With `merge`, an
    existing table keeps the rows the model was not asked to rebuild (`Merge`); with
    `merge_later` too, the new rows wait in `incoming_table` (the count returned is theirs)
    and the merge is appended to it for `finish_merges`. `reads`: tables the model reads in
    place of the ones its SQL names (a run's incoming rows, `reading`)."""
    wanted = model.parameters()
    bound = {k: v for k, v in (params or {}).items() if k in wanted}
    missing = wanted - bound.keys()
    if missing:
        raise ValueError(f"SQL model {model.table} needs parameters {sorted(missing)}")
    sql = reading(model.sql, reads) if reads else model.sql
    merging = merge is not None and table_exists(con, model.table)
    target = incoming_table(model.table) if merging else model.table
    try:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {target.split('.')[0]}")
        if model.pushdown:
            if clickhouse is None:
                raise ValueError(f"{model.table} is computed in ClickHouse: "
                                 "pass a ClickHouseAccess")
            if log_cache is None or not log_cache.build(
                    con, model.name, sql, bound, target,
                    sql_dir=model.path.parent.parent.parent,
                    rewrite=(lambda twin: reading(twin, reads)) if reads else None):
                run_pushdown(con, clickhouse, model.name, sql, bound, stats=stats,
                             target=target)
        else:
            con.execute(f"CREATE OR REPLACE TABLE {target} AS\n{sql}", bound or None)
        if merging:
            assert merge is not None
            if merge_later is not None:
                merge_later.append(PendingMerge(model, target, merge))
                return con.execute(f"SELECT count(*) FROM {target}").fetchall()[0][0]
            _merge_into(con, model.table, target, merge)
    except duckdb.Error as exc:
        # DuckDB's message names no model (an out-of-memory, a bad cast): say which one
        exc.add_note(f"while building {model.table} from {model.path}")
        raise
    return con.execute(f"SELECT count(*) FROM {model.table}").fetchall()[0][0]


@dataclass(frozen=True)
class PendingMerge:
    model: SqlModel
    incoming: str
    merge: Merge


def finish_merges(con: duckdb.DuckDBPyConnection, pending: list[PendingMerge]) -> dict[str, int]:
    """Merge each waiting model's incoming rows into its table (`run_model`'s `merge_later`),
    in the order they were built and in one transaction: the tables change together, and one
    commit costs what one merge's did (a live cycle merges ~40 tables). Returns rows per
    table."""
    if not pending:
        return {}
    columns = _column_types_of(con, [t for p in pending for t in (p.model.table, p.incoming)])
    con.execute("BEGIN TRANSACTION")
    try:
        for item in pending:
            try:
                _swap_rows(con, item.model.table, item.incoming, item.merge,
                           columns[item.incoming], columns[item.model.table])
            except duckdb.Error as exc:
                exc.add_note(f"while merging {item.model.table} from {item.incoming}")
                raise
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    for schema in sorted({p.incoming.split(".")[0] for p in pending}):
        _drop_if_empty(con, schema)
    counts = " UNION ALL ".join(f"SELECT '{p.model.table}', count(*) FROM {p.model.table}"
                                for p in pending)
    return {table: n for table, n in con.execute(counts).fetchall()}


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, unless the failure already ended the transaction (a failed COMMIT does):
    the error being raised is the one to see."""
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass


def _column_types_of(con: duckdb.DuckDBPyConnection,
                     tables: list[str]) -> dict[str, list[tuple[str, str]]]:
    """Each table's (column, type) in order, read in one query; a table not found is an
    error (it would otherwise read as a table whose columns changed)."""
    rows = con.execute(
        "SELECT schema_name || '.' || table_name, list((column_name, data_type) "
        "ORDER BY column_index) FROM duckdb_columns() "
        "WHERE database_name = current_database() "
        "AND list_contains($tables, schema_name || '.' || table_name) GROUP BY ALL",
        {"tables": tables}).fetchall()
    found = {table: [tuple(c) for c in cols] for table, cols in rows}
    missing = sorted(set(tables) - found.keys())
    if missing:
        raise ValueError(f"tables to merge not found in the warehouse: {missing}")
    return found


def _drop_if_empty(con: duckdb.DuckDBPyConnection, schema: str) -> None:
    if schema.endswith(INCOMING):
        try:  # a person browsing the warehouse sees no empty schema; a non-empty one stays
            con.execute(f"DROP SCHEMA IF EXISTS {schema}")
        except duckdb.Error:
            pass


def _swap_rows(con: duckdb.DuckDBPyConnection, table: str, incoming: str, merge: Merge,
               incoming_columns: list[tuple[str, str]],
               table_columns: list[tuple[str, str]]) -> None:
    """Swap `table`'s rows of the rebuilt keys for `incoming`'s and drop `incoming` (inside
    the caller's transaction)."""
    if merge.key not in {name for name, _ in incoming_columns} \
            or incoming_columns != table_columns:
        if merge.key in {name for name, _ in incoming_columns}:
            # the model's columns changed since the table was built (its SQL was edited and
            # only it re-run): old rows cannot stand beside new ones
            log.warning("%s: columns changed, so the table now holds only the rebuilt %s "
                        "values; a full run rebuilds the rest", table, merge.key)
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM {incoming}")
    else:
        con.execute(f"DELETE FROM {table} WHERE {merge.key} IN ({merge.replaced}) "
                    f"OR {merge.key} NOT IN ({merge.kept})")
        # a model may produce rows of keys it was not asked to rebuild (read from another
        # table): keep only the rows of the keys it was asked to rebuild
        con.execute(f"INSERT INTO {table} SELECT * FROM {incoming} "
                    f"WHERE {merge.key} IN ({merge.replaced})")
    con.execute(f"DROP TABLE {incoming}")


def _merge_into(con: duckdb.DuckDBPyConnection, table: str, incoming: str, merge: Merge) -> None:
    """Swap `table`'s rows of the rebuilt keys for `incoming`'s, in one transaction."""
    columns = _column_types_of(con, [table, incoming])
    con.execute("BEGIN TRANSACTION")
    try:
        _swap_rows(con, table, incoming, merge, columns[incoming], columns[table])
        con.execute("COMMIT")
    except BaseException:
        _rollback(con)
        raise
    _drop_if_empty(con, incoming.split(".")[0])


def run_models(
    con: duckdb.DuckDBPyConnection,
    layers: Iterable[str] = SQL_LAYERS,
    params: Mapping[str, Any] | None = None,
    sql_dir: Path = SQL_DIR,
    clickhouse: ClickHouseAccess | None = None,
    stats: PushdownStats | None = None,
) -> dict[str, int]:
    """Build every model of `layers` in dependency order; returns rows per table."""
    return {m.table: run_model(con, m, params, clickhouse, stats)
            for m in ordered(discover(layers, sql_dir))}
