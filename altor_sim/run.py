"""`altor demo run`: generate the demo company (once), load its request logs into ClickHouse,
serve it, and materialise every asset against it, as a deployment would."""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import dagster as dg

from altor_pipelines.definitions import defs
from altor_pipelines.investigation.build import build_investigation
from altor_pipelines.reporting import build_metric_marts, build_report
from altor_pipelines.settings import PROJECT_ROOT, Settings
from altor_pipelines.warehouse.duckdb import connect, sql_text
from altor_sim.clickhouse.loader import load_world_logs
from altor_sim.environment import patched_environ, served_world_environment, world_meta
from altor_sim.live import run_live_demo
from altor_sim.servers import start_servers
from altor_sim.world.generator import generate_world


def ensure_world(world_dir: Path, params: Any) -> bool:
    """Generate the world unless one made with the same parameters is already there."""
    stamp = world_dir / ".params.json"
    wanted = json.dumps(asdict(params), sort_keys=True)
    if stamp.exists() and stamp.read_text() == wanted and (world_dir / "world.json").exists():
        return False
    generate_world(world_dir, params)
    stamp.write_text(wanted)
    return True


def materialize_everything(job_name: str = "batch_pipeline") -> dg.ExecuteInProcessResult:
    """Run a job of the Definitions in this process (one process owns DuckDB and chDB): by
    default every asset but the help-desk write-back, with their checks, in dependency order.
    The run is recorded in the Dagster instance of DAGSTER_HOME: the UI shows it afterwards."""
    job = defs().resolve_job_def(job_name)
    return job.execute_in_process(
        instance=dg.DagsterInstance.get(), tags={"altor/pipeline": "demo"}
    )


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME with the project's instance settings (telemetry off, pools of one)."""

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "data" / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    # The instance settings are the project's: keep the copy current.
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    return home


def warehouse_summary(warehouse_path: Path) -> dict[str, Any]:
    """A few figures a newcomer can check after `make demo` (sql/sim/demo_summary.sql)."""
    con = connect(warehouse_path, read_only=True)
    try:
        cursor = con.execute(sql_text("sim/demo_summary.sql"))
        names = [d[0] for d in cursor.description]
        return dict(zip(names, cursor.fetchall()[0], strict=True))
    finally:
        con.close()


def run_demo(world_dir: Path, data_dir: Path, params: Any, live_hours: float = 0.0,
             echo=print) -> dict[str, Any]:
    """The demo as a deployment would live it: the company's history up to go-live in batch
    (served as of go-live: sync, investigate, train, diagnose, measure), then optionally a
    live period from go-live in which new tickets arrive, notes are written back and simulated
    agents act on them; the marts and the report then cover both periods."""
    t0 = time.perf_counter()
    ensure_dagster_home()
    generated = ensure_world(world_dir, params)
    echo(f"world: {world_dir} ({'generated' if generated else 'already there'})")
    go_live = world_meta(world_dir)["go_live"]
    with start_servers(world_dir, as_of=go_live) as servers:
        env = served_world_environment(servers, world_dir, data_dir)
        with patched_environ(env):
            if generated or not (data_dir / "chdb").exists():
                echo(f"clickhouse: loaded {load_world_logs(world_dir):,} request-log rows")
            echo(f"batch pipeline over the history up to go-live ({go_live}) …")
            result = materialize_everything()
    summary: dict[str, Any] = {"success": result.success}
    if result.success and live_hours > 0:
        echo(f"live period: {live_hours} world-hours from go-live, a cycle every 10 minutes …")
        summary["live period"] = run_live_demo(world_dir, data_dir, hours=live_hours,
                                               step_seconds=600)
        with patched_environ(env):
            refresh_metrics(go_live)
    if result.success:
        summary.update(warehouse_summary(Path(env["ALTOR_WAREHOUSE_PATH"])))
    summary.update({
        "warehouse": env["ALTOR_WAREHOUSE_PATH"],
        "report": str(Path(env["ALTOR_REPORTS_DIR"]) / "escalation_report.html"),
        "models": env["ALTOR_MODELS_DIR"],
        "next": "make ui (Dagster UI on this warehouse), altor investigate <ticket id>",
        "seconds": round(time.perf_counter() - t0, 1),
    })
    return summary


def refresh_metrics(go_live: str) -> None:
    """After the live period: the investigation tables for every ticket again (a live cycle
    leaves only its own tickets in them), then the marts and the report."""
    settings = Settings.from_env()
    con = connect(settings.warehouse_path)
    try:
        build_investigation(con, clickhouse_database=settings.clickhouse_database)
        build_metric_marts(con, go_live)
        build_report(con, settings.reports_dir / "escalation_report.html", go_live)
    finally:
        con.close()
