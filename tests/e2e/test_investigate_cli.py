"""`altor investigate TICKET_ID` on a generated world: a diagnosis with its evidence for a known
ticket; a clear error and exit code 2 for an unknown one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from altor_pipelines.warehouse.clickhouse import close_chdb_clients
from altor_pipelines.warehouse.duckdb import connect
from altor_sim.environment import served_world_environment
from altor_sim.world.generator import WorldParams
from tests.fixtures.live_world import served_live_world

PARAMS = WorldParams(days=28, customers=12, requests_per_minute=20, tickets_per_week=400, seed=5)


@pytest.fixture(scope="module")
def investigated_world(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("investigate")
    with served_live_world(tmp, PARAMS, train=True) as (servers, settings, world):
        env = served_world_environment(servers, world, tmp / "data",
                                       as_of=settings.go_live)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        # A ticket whose customer's logs show errors: its evidence has figures to print.
        ticket_id = con.execute(
            "SELECT ticket_id FROM heuristics.evidence WHERE source = 'clickhouse' "
            "ORDER BY ticket_id LIMIT 1").fetchall()[0][0]
    finally:
        con.close()
    # `altor investigate` reads the logs in chDB, which one process at a time may open
    close_chdb_clients()
    return {**os.environ, **env}, ticket_id


def _altor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "altor_pipelines.cli", *args], env=env,
                          capture_output=True, text=True, timeout=600,
                          cwd=Path(__file__).resolve().parents[2])


def test_investigate_prints_a_diagnosis_with_evidence(investigated_world) -> None:
    env, ticket_id = investigated_world
    out = _altor(env, "investigate", str(ticket_id))
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"Ticket {ticket_id}: ")
    assert ("cause: " in out.stdout) or ("ABSTAINED" in out.stdout)
    assert "evidence:" in out.stdout and "reproducing queries:" in out.stdout
    assert "{org:String}" in out.stdout or "org_id" in out.stdout  # the ClickHouse query


def test_investigate_unknown_ticket_is_a_clear_error(investigated_world) -> None:
    env, _ = investigated_world
    out = _altor(env, "investigate", "999999999")
    assert out.returncode == 2
    assert "ticket 999999999 is not in the warehouse" in out.stderr
    assert "Traceback" not in out.stderr
