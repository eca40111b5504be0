"""`altor backtest` on a generated world synced through the demo servers: the window's tickets
all diagnosed, the figures consistent with the world's truth, and nothing after a ticket's time
in its features or in the model (trained only on what the help desk knew at the window's
start). The warehouse is only read."""

from __future__ import annotations

import csv
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from altor_pipelines.operations.backtest import prepare_scratch, run_backtest, write_outputs
from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_sim.clickhouse.loader import load_world_logs
from altor_sim.environment import patched_environ, served_world_environment
from altor_sim.live import sync_served_world
from altor_sim.servers import start_servers
from altor_sim.world.generator import WorldParams, generate_world

pytestmark = pytest.mark.slow
PARAMS = WorldParams(days=35, customers=20, tickets_per_week=150, requests_per_minute=20,
                     seed=11)


@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("backtest")
    world = tmp / "world"
    generate_world(world, PARAMS)
    with start_servers(world) as servers:  # served as of the world's end: outcomes known
        env = served_world_environment(servers, world, tmp / "data")
        with patched_environ(env):
            settings = Settings.from_env()
            load_world_logs(world)
            sync_served_world(settings)
            yield {"settings": settings, "world": world, "tmp": tmp}


def _truth(world):
    with (world / "truth" / "tickets.csv").open() as f:
        return {int(r["ticket_id"]): r for r in csv.DictReader(f)}


def test_backtest_of_the_last_week_before_go_live(synced):
    settings, world = synced["settings"], synced["world"]
    go_live = datetime.fromisoformat(settings.go_live.replace("Z", "+00:00"))
    start, end = go_live - timedelta(days=7), go_live
    digest = hashlib.sha256(settings.warehouse_path.read_bytes()).hexdigest()
    result = run_backtest(settings, start, end)
    assert hashlib.sha256(settings.warehouse_path.read_bytes()).hexdigest() == digest

    truth = _truth(world)
    in_window = {t for t, r in truth.items()
                 if start <= datetime.fromisoformat(r["created_at"].replace("Z", "+00:00"))
                 < end}
    o = result["overall"]
    assert abs(o["tickets"] - len(in_window)) <= len(in_window) * 0.02  # deleted ones left out
    assert o["diagnosed"] == o["tickets"]
    assert 0 < o["delivered"] <= o["diagnosed"]
    assert o["avoidable"] <= o["escalated"]
    per = result["per_cause"].values()
    assert sum(d["delivered"] for d in per) == o["delivered"]
    assert sum(d["avoidable"] for d in per) == o["avoidable"]
    lo, hi = o["agreement_ci"]
    assert lo <= o["agreement"] <= hi

    # no leakage into the model: it knew nothing stamped at or after the window's start
    model = result["model"]
    naive_start = start.astimezone(UTC).replace(tzinfo=None)
    assert datetime.fromisoformat(model["newest_training_ticket_created_at"]) < naive_start
    assert datetime.fromisoformat(model["newest_training_fact_at"]) < naive_start
    assert 0 < model["rows"]

    # the delivered diagnoses against the world's truth (never read by the pipeline): right
    # far more often than chance, and the backtest's agreement with the recorded (noisy) cause
    # a fair estimate of it
    delivered = [t for t in result["tickets"] if t["delivered_cause"] is not None]
    assert {t["ticket_id"] for t in result["tickets"]} <= in_window
    right = sum(t["delivered_cause"] == truth[t["ticket_id"]]["root_cause"] for t in delivered)
    precision = right / len(delivered)
    assert precision >= 0.5, precision
    assert abs(precision - o["agreement"]) <= 0.2, (precision, o["agreement"])
    out_json, out_html = write_outputs(result, synced["tmp"] / "reports")
    assert out_json.exists() and "Backtest" in out_html.read_text()


def test_every_ticket_is_investigated_at_its_creation(synced):
    con = prepare_scratch(synced["settings"].warehouse_path,
                          ClickHouseAccess(synced["settings"]))
    try:
        later = con.execute("SELECT count(*) FROM intermediate.int_ticket_investigations "
                            "WHERE investigated_at <> created_at").fetchone()[0]
        total = con.execute("SELECT count(*) FROM features.fct_ticket_features").fetchone()[0]
    finally:
        con.close()
    assert later == 0 and total > 0
