"""One Dagster asset per SQL model file, so the lineage in the UI is the lineage of the SQL.

Keys are `<layer>/<name>`; dependencies come from the tables each file names (other models,
and `raw_<source>.<table>` tables loaded by the ingest assets). Pushed-down models (`logs/<name>`)
run in ClickHouse for the tickets their file lists, so they take the ClickHouse pool's slot.
"""


import hashlib
import re

import dagster as dg
from dagster import AssetExecutionContext

from altor_pipelines.defs.resources import CLICKHOUSE_POOL, WAREHOUSE_POOL, AltorResource
from altor_pipelines.investigation.incremental import (
    TICKET_MERGE,
    merged_tables,
    settled_at_clock,
    tickets_to_investigate,
)
from altor_pipelines.warehouse.sql_runner import (
    Merge,
    SqlModel,
    discover,
    run_model,
    sql_parameters,
)

# Stages as the UI groups them: ingest, staging, features, diagnosis, metrics, delivery.
GROUP_OF_LAYER = {
    "staging": "staging",
    "intermediate": "staging",
    "features": "features",
    "heuristics": "features",
    "logs": "features",
    "marts": "metrics",
}
_RAW_REFERENCE = re.compile(r"\b(raw_[a-z]+)\.([a-z_][a-z0-9_]*)\b", re.IGNORECASE)


def _description(model: SqlModel) -> str:
    """The file's leading comment block, which says what the model holds and why."""
    lines = []
    for line in model.sql.splitlines():
        if not line.startswith("--"):
            break
        lines.append(line.removeprefix("--").strip())
    return " ".join(lines) or f"SQL model {model.table}"


def _deps(model: SqlModel, known: set[dg.AssetKey]) -> list[dg.AssetKey]:
    keys = {dg.AssetKey(ref.split(".")) for ref in model.references()}
    for schema, table in _RAW_REFERENCE.findall(model.sql):
        # dlt child tables (tickets__custom_fields) belong to their parent resource's asset.
        keys.add(dg.AssetKey([schema.lower(), table.lower().split("__")[0]]))
    return sorted((k for k in keys if k in known), key=lambda k: k.to_user_string())


def _sql_asset(model: SqlModel, known: set[dg.AssetKey], merge: Merge | None
               ) -> dg.AssetsDefinition:
    @dg.asset(
        key=dg.AssetKey([model.layer, model.name]),
        deps=_deps(model, known),
        group_name=GROUP_OF_LAYER[model.layer],
        description=_description(model),
        code_version=hashlib.sha256(model.sql.encode()).hexdigest()[:12],
        kinds={"clickhouse", "duckdb", "sql"} if model.pushdown else {"duckdb", "sql"},
        owners=["team:data-platform"],
        # chDB is single-process: a pushed-down model takes the ClickHouse pool's slot, as the
        # ClickHouse sync does (defs/ingest.py)
        pool=CLICKHOUSE_POOL if model.pushdown else WAREHOUSE_POOL,
        retry_policy=dg.RetryPolicy(max_retries=2, delay=2, backoff=dg.Backoff.EXPONENTIAL),
    )
    def _model(context: AssetExecutionContext, altor: AltorResource) -> dg.MaterializeResult:
        settings = altor.settings()
        params = sql_parameters(settings)
        extra: dict[str, int | str] = {}
        with altor.warehouse() as con:
            if "ticket_ids" in model.parameters():
                # the batch investigates only new and unsettled tickets (incremental.py)
                params["ticket_ids"] = tickets_to_investigate(
                    con, params["investigation_version"], settled_at_clock(settings))
                extra["tickets_investigated"] = (
                    "every ticket" if params["ticket_ids"] is None
                    else len(params["ticket_ids"]))
            clickhouse = altor.clickhouse() if model.pushdown else None
            rows = run_model(con, model, params, clickhouse, merge=merge)
            preview = con.sql(f"SELECT * FROM {model.table} LIMIT 5").pl()
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows,
                "preview": dg.MetadataValue.text(str(preview)),
                "sql_file": dg.MetadataValue.path(str(model.path)),
                **extra,
            }
        )

    return _model


def sql_model_assets(upstream_keys: set[dg.AssetKey]) -> list[dg.AssetsDefinition]:
    models = discover([layer for layer in GROUP_OF_LAYER])
    known = set(upstream_keys) | {dg.AssetKey([m.layer, m.name]) for m in models.values()}
    merged = merged_tables(models)
    return [_sql_asset(m, known, TICKET_MERGE if m.table in merged else None)
            for m in models.values()]
