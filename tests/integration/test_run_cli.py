"""`altor run` as a deployment calls it: the real command in a subprocess, against the demo
servers and a ClickHouse server (the HTTP front over chDB), given only the settings a real
deployment sets (no clock, no demo defaults). The terminal shows progress and a summary, not
Dagster's or dlt's logs, which go to the log file; the warehouse holds the world's tickets
with features."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_sim.clickhouse.http_double import ClickHouseHttpFront
from altor_sim.clickhouse.loader import load_request_logs
from altor_sim.servers import start_servers
from tests.fixtures.tiny_world import build_tiny_world

ROOT = Path(__file__).resolve().parents[2]
ALTOR = Path(sys.executable).parent / "altor"
# What `altor run` may read from the environment; a deployment sets nothing else.
DEPLOYMENT_SETTINGS = (
    "ZENDESK_BASE_URL", "ZENDESK_EMAIL", "ZENDESK_TOKEN", "ZENDESK_ROOT_CAUSE_FIELD_ID",
    "STRIPE_API_BASE", "STRIPE_API_KEY", "LINEAR_API_URL", "LINEAR_API_KEY",
    "GITHUB_API_URL", "GITHUB_TOKEN", "GITHUB_REPO", "CLICKHOUSE_HOST", "CLICKHOUSE_PORT",
    "CLICKHOUSE_USER", "CLICKHOUSE_PASSWORD", "CLICKHOUSE_DATABASE", "ALTOR_DATA_DIR",
    "ALTOR_MODELS_DIR", "ALTOR_REPORTS_DIR", "ALTOR_GO_LIVE", "DAGSTER_HOME",
)


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("run_cli")
    world = build_tiny_world(tmp / "world")
    meta = json.loads((world / "world.json").read_text())
    chdb = tmp / "chdb"
    embedded = dataclasses.replace(Settings.from_env(), clickhouse_host="", chdb_path=chdb,
                                   clickhouse_database="altor")
    load_request_logs(ClickHouseAccess(embedded), world, "altor")
    with start_servers(world) as servers, \
            ClickHouseHttpFront(chdb, users={"reader": "pw-reader"}) as front:
        data = tmp / "data"
        env = {
            "ZENDESK_BASE_URL": servers.urls["zendesk"], "ZENDESK_EMAIL": "altor@acme.test",
            "ZENDESK_TOKEN": servers.tokens["zendesk"],
            "ZENDESK_ROOT_CAUSE_FIELD_ID": str(meta["root_cause_field_id"]),
            "STRIPE_API_BASE": servers.urls["stripe"], "STRIPE_API_KEY": servers.tokens["stripe"],
            "LINEAR_API_URL": servers.urls["linear"], "LINEAR_API_KEY": servers.tokens["linear"],
            "GITHUB_API_URL": servers.urls["github"], "GITHUB_TOKEN": servers.tokens["github"],
            "GITHUB_REPO": meta["repo"], "CLICKHOUSE_HOST": "127.0.0.1",
            "CLICKHOUSE_PORT": str(front.port), "CLICKHOUSE_USER": "reader",
            "CLICKHOUSE_PASSWORD": "pw-reader", "CLICKHOUSE_DATABASE": "altor",
            "ALTOR_DATA_DIR": str(data), "ALTOR_MODELS_DIR": str(data / "models"),
            "ALTOR_REPORTS_DIR": str(data / "reports"), "ALTOR_GO_LIVE": meta["go_live"],
            "DAGSTER_HOME": str(tmp / "dagster_home"),
        }
        assert set(env) == set(DEPLOYMENT_SETTINGS)
        yield env, world


def _clean_environment() -> dict[str, str]:
    """The test process's environment without any Altor, vendor or ClickHouse setting."""
    prefixes = ("ALTOR_", "ZENDESK_", "STRIPE_", "LINEAR_", "GITHUB_", "CLICKHOUSE_",
                "DAGSTER_")
    return {k: v for k, v in os.environ.items() if not k.startswith(prefixes)}


def test_altor_run_until_features_with_a_deployments_settings(deployment):
    env, world = deployment
    done = subprocess.run([str(ALTOR), "run", "--until", "features"], cwd=ROOT,
                          env={**_clean_environment(), **env}, capture_output=True, text=True,
                          timeout=900)
    out = done.stdout + done.stderr
    assert done.returncode == 0, out
    assert "DEBUG" not in out and "dagster - " not in out and "Traceback" not in out
    assert "batch_pipeline until features" in out
    log = Path(env["ALTOR_DATA_DIR"]) / "logs" / "run.log"
    assert str(log) in out.replace("\n", "")
    assert "STEP_SUCCESS" in log.read_text()
    with (world / "zendesk" / "tickets.jsonl").open() as f:
        world_tickets = {json.loads(line)["object"]["id"] for line in f}
    con = duckdb.connect(str(Path(env["ALTOR_DATA_DIR"]) / "warehouse.duckdb"), read_only=True)
    try:
        synced = {r[0] for r in con.execute(
            "SELECT ticket_id FROM staging.stg_zendesk__tickets").fetchall()}
        featured = con.execute("SELECT count(*) FROM features.fct_ticket_features").fetchone()[0]
        marts = con.execute("SELECT count(*) FROM duckdb_tables() "
                            "WHERE schema_name = 'marts'").fetchone()[0]
    finally:
        con.close()
    assert synced == world_tickets
    assert featured > 0
    assert marts == 0  # stopped after features, as asked

    # the next run investigates no ticket again: every one is older than the settle window
    # (the clock is now, the world is in the past) and was investigated by the same SQL
    again = subprocess.run([str(ALTOR), "run", "--until", "features"], cwd=ROOT,
                           env={**_clean_environment(), **env}, capture_output=True, text=True,
                           timeout=900)
    assert again.returncode == 0, again.stdout + again.stderr
    con = duckdb.connect(str(Path(env["ALTOR_DATA_DIR"]) / "warehouse.duckdb"), read_only=True)
    try:
        investigated_now = con.execute(
            "SELECT count(*) FROM intermediate.int_ticket_investigations").fetchone()[0]
        kept = con.execute("SELECT count(*) FROM features.fct_ticket_features").fetchone()[0]
        completed = con.execute(
            "SELECT count(*) FROM heuristics.investigated_tickets").fetchone()[0]
    finally:
        con.close()
    assert investigated_now == 0
    assert kept == featured == completed


def test_a_bad_stage_is_refused(deployment):
    env, _world = deployment
    done = subprocess.run([str(ALTOR), "run", "--until", "everything"], cwd=ROOT,
                          env={**_clean_environment(), **env}, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 2
    assert "unknown stage" in done.stderr and "Traceback" not in done.stderr
