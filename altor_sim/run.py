"""`altor demo run`: generate the demo company (once), load its request logs into ClickHouse,
serve it, and materialise every asset against it, as a deployment would."""

from __future__ import annotations

import json
import shutil
import time
from dataclasses import asdict
from datetime import timedelta
from pathlib import Path
from typing import Any

from altor_pipelines.clock import parse_time
from altor_pipelines.delivery.live import (
    LivePipelines,
    LivePlaybook,
    ServedModelDiagnoser,
    rebuild_staging,
    sync_sources,
)
from altor_pipelines.delivery.writeback import writeback_client
from altor_pipelines.investigation.build import build_investigation
from altor_pipelines.investigation.incremental import settled_at_clock
from altor_pipelines.operations.run import ensure_dagster_home, run_batch, step_count
from altor_pipelines.reporting import build_metric_marts, build_report
from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import open_warehouse
from altor_sim.agents import SimulatedAgents, historical_behaviour
from altor_sim.clickhouse.loader import load_world_logs
from altor_sim.environment import patched_environ, served_world_environment, world_meta
from altor_sim.live import at_clock
from altor_sim.live_weeks import EXPORT_SETTLE_SECONDS, arrival_times, run_live_weeks
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


# What a demo run replaces: the warehouse and everything derived from the served world's help
# desk. The world and its ClickHouse load are kept (they only depend on the world's parameters).
FRESH_STATE = ("warehouse.duckdb", "warehouse.duckdb.wal", "dlt", "models", "reports",
               "helpdesk")


def fresh_state(data_dir: Path) -> None:
    """A demo run starts from go-live again: the live weeks write into the served help desk,
    so a second run over the first one's warehouse would see its notes and diagnoses."""
    for name in FRESH_STATE:
        path = data_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def run_demo(world_dir: Path, data_dir: Path, params: Any, live_days: float, console: Any,
             progress: Any) -> dict[str, Any]:
    """The demo as a deployment would live it: the company's history up to go-live in batch
    (served as of go-live: sync, investigate, train, diagnose, measure), then `live_days` of
    the world after go-live on the live path, ticket by ticket, with simulated agents acting
    on the notes (live_weeks.py); the marts and the report then cover both periods.
    `progress` is a rich Progress (one bar per stage). Returns figures for the summary."""
    t0 = time.perf_counter()
    out: dict[str, Any] = {}
    ensure_dagster_home()
    task = progress.add_task("world", total=1, note="")
    generated = ensure_world(world_dir, params)
    progress.update(task, completed=1, note=f"{world_dir} ({'generated' if generated else 'kept'})")
    fresh_state(data_dir)
    meta = world_meta(world_dir)
    go_live = parse_time(meta["go_live"])
    live_end = min(go_live + timedelta(days=live_days), parse_time(meta["end"]))
    with start_servers(world_dir, as_of=go_live, state_dir=data_dir / "helpdesk") as servers:
        env = served_world_environment(servers, world_dir, data_dir,
                                       as_of=meta["go_live"])
        with patched_environ(env):
            settings = Settings.from_env()
            if generated or not (data_dir / "chdb").exists():
                task = progress.add_task("clickhouse: request logs", total=1, note="")
                rows = load_world_logs(world_dir)
                progress.update(task, completed=1, note=f"{rows:,} rows")
            steps = step_count()
            task = progress.add_task("history up to go-live", total=steps, note="")

            def on_step(step: str, kind: str) -> None:
                progress.update(task, advance=1, note=step.replace("__", ".")[:40])

            outcome = run_batch(on_step=on_step, tags={"altor/pipeline": "demo"})
            # a finished task stops its clock; several checks share a step, so the steps
            # reported are fewer than counted
            progress.update(task, completed=steps if outcome.success else None,
                            note="done" if outcome.success else "FAILED")
            out["batch"] = outcome
            if not outcome.success:
                return out
            if live_days > 0:
                arriving = len(arrival_times(servers, go_live, live_end))
                task = progress.add_task(f"live: {live_days:g} days after go-live",
                                         total=arriving, note="")
                con = open_warehouse(settings, read_only=True)
                try:
                    behaviour = historical_behaviour(con, go_live)
                finally:
                    con.close()
                agents = SimulatedAgents(world_dir, writeback_client(settings), behaviour)

                def on_cycle(result: Any, world_now: Any) -> None:
                    progress.update(task, completed=result.tickets,
                                    note=f"world {world_now:%b %d %H:%M}, "
                                    f"{len(result.delays):,} notes")

                live = run_live_weeks(servers, settings, go_live, live_end, agents=agents,
                                      diagnoser=ServedModelDiagnoser(),
                                      playbook=LivePlaybook(), pipelines=LivePipelines(),
                                      on_cycle=on_cycle)
                progress.update(task, completed=arriving,
                                note=f"{live.cycles:,} cycles, {len(live.delays):,} notes, "
                                f"{live.agent_actions:,} agent actions")
                out["live"] = live
                # the last notes and agent actions, into staging, before the marts; a minute
                # on, past the event export's held-back minute, where the last comments are
                servers.set_as_of(servers.as_of + timedelta(seconds=EXPORT_SETTLE_SECONDS + 1))
                final = at_clock(settings, servers.as_of)
                sync_sources(final, ())
                con = open_warehouse(final)
                try:
                    rebuild_staging(con, final)
                finally:
                    con.close()
            task = progress.add_task("marts and report", total=1, note="")
            refresh_metrics(meta["go_live"])
            progress.update(task, completed=1, note="")
    out.update({
        "warehouse": env["ALTOR_WAREHOUSE_PATH"],
        "report": str(Path(env["ALTOR_REPORTS_DIR"]) / "escalation_report.html"),
        "go_live": meta["go_live"],
        "seconds": time.perf_counter() - t0,
    })
    return out


def refresh_metrics(go_live: str) -> None:
    """After the live period: the tickets the live path investigated later than their creation
    (and any not yet investigated) investigated again at creation, as the batch does; then the
    marts and the report."""
    settings = Settings.from_env()
    con = open_warehouse(settings)
    try:
        build_investigation(con, ClickHouseAccess(settings),
                            clickhouse_database=settings.clickhouse_database,
                            settled_before=settled_at_clock(settings))
        build_metric_marts(con, go_live)
        build_report(con, settings.reports_dir / "escalation_report.html", go_live)
    finally:
        con.close()
