"""Syncing the five sources into the warehouse: plain functions over the dlt sources.

A fresh dlt source object is built for every run (dagster-io/dagster#34052: a reused source
object fails on the second run in one process). Each source has one dlt pipeline, writing into
the one DuckDB warehouse, schema raw_<source>; dlt keeps its state in the destination too, so a
fresh machine given the warehouse file resumes where the last run stopped.

A source that returns no rows for a table still leaves the table, empty and typed: each
resource materialises its own table with its column hints, and the nested tables dlt creates
only with a first row (Stripe's subscription items) are created after the run from
`sql/raw/<source>/<table>.sql` when missing, so staging always builds.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import dlt

from altor_pipelines.clock import as_of, parse_time
from altor_pipelines.settings import Settings
from altor_pipelines.sources.clickhouse_logs import ClickHouseSyncStats, clickhouse_logs_source
from altor_pipelines.sources.github import github_source
from altor_pipelines.sources.linear import linear_source
from altor_pipelines.sources.stripe import stripe_source
from altor_pipelines.sources.zendesk import zendesk_source
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import SQL_DIR

log = logging.getLogger(__name__)
RAW_SQL_DIR = SQL_DIR / "raw"

# Each source's tables (its dlt resources), as the ingest assets show them in the lineage.
SOURCE_TABLES: dict[str, tuple[str, ...]] = {
    "zendesk": (
        "tickets",
        "ticket_events",
        "ticket_comments",
        "ticket_metrics",
        "organizations",
        "users",
        "groups",
        "ticket_fields",
    ),
    "stripe": ("customers", "products", "prices", "subscriptions", "invoices", "charges", "events"),
    "linear": ("issues", "teams", "workflow_states", "labels"),
    "github": ("deployments", "deployment_statuses", "releases", "commits"),
    "clickhouse": ("org_hours",),
}


def make_pipeline(
    source_name: str, warehouse_path: Path | str, pipelines_dir: Path | str
) -> dlt.Pipeline:
    """The pipeline `<source_name>` loading into schema `raw_<source_name>` of the warehouse."""
    # No network at run time except the local servers: dlt's telemetry stays off unless asked.
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")
    Path(pipelines_dir).mkdir(parents=True, exist_ok=True)
    Path(warehouse_path).parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=source_name,
        destination=dlt.destinations.duckdb(str(warehouse_path)),
        dataset_name=f"raw_{source_name}",
        pipelines_dir=str(pipelines_dir),
        progress="log" if os.environ.get("ALTOR_DLT_PROGRESS") else None,
    )


@dataclass
class SyncResult:
    source: str
    rows_by_table: dict[str, int] = field(default_factory=dict)
    details: dict[str, Any] = field(default_factory=dict)


def sync_start(settings: Settings):
    return parse_time(settings.sync_start) or as_of(settings) - timedelta(days=365)


def make_source(name: str, settings: Settings, *, stats: Any = None) -> Any:
    """A new dlt source object for `name`, configured from settings."""
    page = settings.page_size
    if name == "zendesk":
        # The ticket export pages up to 1000 (its list endpoints cap at 100 themselves); a
        # small page size (tests) is kept as it is.
        return zendesk_source(
            settings.zendesk_base_url,
            settings.zendesk_email,
            settings.zendesk_token,
            start_time=sync_start(settings),
            page_size=1000 if page >= 100 else page,
        )
    if name == "stripe":
        return stripe_source(settings.stripe_api_base, settings.stripe_api_key, page_size=page)
    if name == "linear":
        return linear_source(
            settings.linear_api_url, settings.linear_api_key, page_size=min(page, 250)
        )
    if name == "github":
        return github_source(
            settings.github_api_url, settings.github_token, settings.github_repo, page_size=page
        )
    if name == "clickhouse":
        return clickhouse_logs_source(
            ClickHouseAccess(settings),
            until=as_of(settings),
            initial_start=sync_start(settings),
            reread_hours=settings.clickhouse_reread_hours,
            audit_hours=settings.clickhouse_audit_hours,
            stats=stats,
        )
    raise ValueError(f"unknown source {name!r}; known: {sorted(SOURCE_TABLES)}")


def _table_counts(pipeline: dlt.Pipeline, tables: tuple[str, ...]) -> dict[str, int]:
    counts: dict[str, int] = {}
    with pipeline.sql_client() as client:
        for table in tables:
            try:
                rows = client.execute_sql(
                    f"SELECT count(*) FROM {client.make_qualified_table_name(table)}"
                )
                counts[table] = int(rows[0][0])
            except Exception:  # a table the source has not created yet (no rows ever)
                counts[table] = 0
    return counts


def ensure_raw_tables(pipeline: dlt.Pipeline, name: str) -> list[str]:
    """Create the raw tables of source `name` that a run left missing (the DDL in
    `sql/raw/<name>/<table>.sql`: the columns staging reads, typed); returns those created."""
    created: list[str] = []
    folder = RAW_SQL_DIR / name
    if not folder.is_dir():
        return created
    with pipeline.sql_client() as client:
        for path in sorted(folder.glob("*.sql")):
            exists = client.execute_sql(
                "SELECT count(*) FROM information_schema.tables "
                "WHERE table_schema = %s AND table_name = %s", pipeline.dataset_name, path.stem)
            if exists[0][0]:
                continue
            client.execute_sql(path.read_text())
            created.append(path.stem)
            log.info("%s: no rows for %s yet; created it empty (sql/raw/%s/%s)", name,
                     path.stem, name, path.name)
    return created


def sync(name: str, settings: Settings, *, count_rows: bool = True,
         pipeline: dlt.Pipeline | None = None) -> SyncResult:
    """Run one source incrementally into `raw_<name>`; returns rows per table afterwards
    (`count_rows`; the live path, which only needs the data, skips the counting queries).
    `pipeline`: one made earlier by `make_pipeline` for this source (a loop's; default: new)."""
    stats = None
    if name == "clickhouse":
        stats = ClickHouseSyncStats()
    pipeline = pipeline or make_pipeline(name, settings.warehouse_path,
                                         settings.dlt_pipelines_dir)
    info = pipeline.run(make_source(name, settings, stats=stats))
    created = ensure_raw_tables(pipeline, name)
    result = SyncResult(name, _table_counts(pipeline, SOURCE_TABLES[name]) if count_rows else {})
    result.details["load_ids"] = list(info.loads_ids)
    if created:
        result.details["created_empty"] = created
    if stats is not None:
        result.details["clickhouse"] = stats.summary()
    return result
