"""The account spine, built from the five sources synced through the servers, matches the
world's truth/accounts.csv for every customer (the test reads truth; the pipeline never does)."""

from __future__ import annotations

import csv
from pathlib import Path

from altor_pipelines.settings import Settings
from altor_pipelines.sources.sync import SOURCE_TABLES, sync
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import connect
from altor_pipelines.warehouse.sql_runner import discover, ordered, run_model, sql_parameters
from altor_sim.clickhouse.loader import load_request_logs
from altor_sim.environment import patched_environ, served_world_environment
from altor_sim.servers import start_servers


def test_spine_from_synced_sources_matches_truth(tiny_world: Path, tmp_path: Path) -> None:
    with start_servers(tiny_world) as servers:
        with patched_environ(served_world_environment(servers, tiny_world, tmp_path)):
            settings = Settings.from_env()
            load_request_logs(ClickHouseAccess(settings), tiny_world, settings.clickhouse_database)
            for source in SOURCE_TABLES:
                sync(source, settings)
            con = connect(settings.warehouse_path)
            models = discover(["staging", "intermediate"])
            needed = {"intermediate.int_account_spine"} | {
                t for t in models if t.startswith("staging.")}
            for model in ordered({t: models[t] for t in needed}):
                run_model(con, model, sql_parameters(settings))
            spine = {row[0]: row[1:] for row in con.execute(
                "SELECT org_id, zendesk_organization_id, stripe_customer_id "
                "FROM intermediate.int_account_spine").fetchall()}
            con.close()
    with (tiny_world / "truth" / "accounts.csv").open() as f:
        truth = {r["org_id"]: (int(r["zendesk_organization_id"]), r["stripe_customer_id"] or None)
                 for r in csv.DictReader(f)}
    assert spine == truth
