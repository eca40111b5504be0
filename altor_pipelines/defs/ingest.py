"""The ingest stage: one multi-asset per source, one asset per table, so the lineage shows
which raw table each model reads. The bodies call `altor_pipelines.ingest.sync`."""

import dagster as dg
from dagster import AssetExecutionContext

from altor_pipelines.defs.resources import CLICKHOUSE_POOL, WAREHOUSE_POOL, AltorResource
from altor_pipelines.sources.sync import SOURCE_TABLES, sync

SOURCE_DESCRIPTIONS = {
    "zendesk": "Help desk: tickets (cursor-based incremental export), ticket events, "
    "comments, metrics, organizations, users, groups, fields.",
    "stripe": "Billing: customers, plans (products/prices with limits), subscriptions, "
    "invoices, charges; changes through the events API.",
    "linear": "Bugs: Linear issues by updatedAt, with teams, workflow states and labels.",
    "github": "Deploys: deployments and their statuses, releases, commits.",
    "clickhouse": "Request logs: per org and hour, requests, 429s and the first and last "
    "minute with traffic, by closed windows (the per-ticket figures are computed in "
    "ClickHouse at investigation time: warehouse/pushdown.py).",
}


def raw_key(source: str, table: str) -> dg.AssetKey:
    return dg.AssetKey([f"raw_{source}", table])


def _ingest_asset(source: str) -> dg.AssetsDefinition:
    specs = [
        dg.AssetSpec(
            raw_key(source, table),
            group_name="ingest",
            description=f"{SOURCE_DESCRIPTIONS[source]} (table `raw_{source}.{table}`)",
            kinds={"dlt", "duckdb"},
            owners=["team:data-platform"],
            tags={"altor/source": source},
        )
        for table in SOURCE_TABLES[source]
    ]

    @dg.multi_asset(
        name=f"sync_{source}",
        specs=specs,
        # chDB is single-process: the ClickHouse sync also takes the ClickHouse pool's slot.
        pool=CLICKHOUSE_POOL if source == "clickhouse" else WAREHOUSE_POOL,
        retry_policy=dg.RetryPolicy(max_retries=3, delay=5, backoff=dg.Backoff.EXPONENTIAL),
        op_tags={"altor/source": source},
    )
    def _sync(context: AssetExecutionContext, altor: AltorResource):
        result = sync(source, altor.settings())
        for table, rows in result.rows_by_table.items():
            metadata = {"dagster/row_count": rows}
            if "clickhouse" in result.details:
                metadata["clickhouse_fetched"] = dg.MetadataValue.json(result.details["clickhouse"])
            yield dg.MaterializeResult(asset_key=raw_key(source, table), metadata=metadata)

    return _sync


def ingest_assets() -> list[dg.AssetsDefinition]:
    return [_ingest_asset(source) for source in SOURCE_TABLES]
