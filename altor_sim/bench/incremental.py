"""`make bench`'s incremental and per-ticket figures, measured in one served world.

The world is served at a clock T chosen so that the tickets created after T (up to the world's
end) are `new_share` (1%) of those created by T; ClickHouse holds the request logs up to T.
The batch — every source synced, staging, the investigation (features and rules, pushed down to
ClickHouse), diagnosis, metrics — runs from an empty warehouse at T: the full run. While the
world is still at T, a loop does for a sample of tickets what a per-ticket agent does
(`per_ticket.py`). Then the logs in (T, end] are appended to ClickHouse, the clock moves to the
world's end and the batch runs again on the warehouse and dlt state the first run left: the
incremental run. Each stage is timed in both runs; `incremental_over_full` is the ratio of the
totals, and the stage with the largest share of the incremental run is named.

Not timed: loading the logs into ClickHouse (the customer's log store, not the pipeline) and
training the model (weekly, not per run): diagnosis serves the model `models_dir` holds (the
one `altor eval` trained on this world's history), or the rules stand-in when there is none.
"""

from __future__ import annotations

import resource
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from altor_pipelines.clock import as_of, iso_z, naive_utc
from altor_pipelines.delivery.live import rebuild_staging
from altor_pipelines.investigation.build import build_investigation, investigation_models
from altor_pipelines.investigation.incremental import INVESTIGATIONS, settled_at_clock
from altor_pipelines.ml.registry import current_version, registry_root
from altor_pipelines.ml.serve import build_diagnoses, tickets_to_diagnose
from altor_pipelines.settings import Settings
from altor_pipelines.sources.sync import SOURCE_TABLES, sync
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import open_warehouse
from altor_pipelines.warehouse.pushdown import PushdownStats
from altor_pipelines.warehouse.sql_runner import discover, ordered, run_model, sql_parameters
from altor_sim.bench.per_ticket import per_ticket_agent_loop
from altor_sim.clickhouse.loader import append_request_logs, load_request_logs
from altor_sim.environment import patched_environ, served_world_environment
from altor_sim.live import at_clock, rules_diagnoser
from altor_sim.servers import start_servers
from altor_sim.world.reader import World, to_datetime

FEATURES_TABLE = "features.fct_ticket_features"


def ticket_created_times(world: World) -> list[float]:
    """When each ticket of the world was created (its first version), sorted."""
    tickets = world.collection("zendesk", "tickets")
    return sorted(tickets.versions(tid)[0].at for tid in tickets.ids())


def clock_for_new_share(created: list[float], end: float, share: float) -> float:
    """The time T at which the tickets created in (T, end] are `share` of those created by T
    (T is the creation time of the last ticket that exists at T)."""
    existing = [t for t in created if t <= end]
    before = max(1, min(len(existing) - 1, round(len(existing) / (1 + share))))
    return existing[before - 1]


def _diagnose(con: duckdb.DuckDBPyConnection, settings: Settings) -> str:
    """Diagnose as the batch does: with the served model, the tickets the investigation rebuilt
    and those it has not scored; else every ticket with the rules stand-in."""
    now = naive_utc(as_of(settings))
    root = registry_root(settings)
    if current_version(root) is not None:
        build_diagnoses(con, root, ticket_ids=tickets_to_diagnose(con, root), now=now)
        return "model"
    ids = [r[0] for r in con.execute(f"SELECT ticket_id FROM {FEATURES_TABLE}").fetchall()]
    rules_diagnoser(con, settings, ids, now)
    return "rules"


def _metrics(con: duckdb.DuckDBPyConnection, settings: Settings) -> None:
    """The marts, and the intermediate models only they read."""
    built = {m.table for m in investigation_models()} | {"intermediate.int_account_spine"}
    params = sql_parameters(settings)
    models = {t: m for t, m in discover(("intermediate", "marts")).items() if t not in built}
    for model in ordered(models):
        run_model(con, model, params)


def run_batch(settings: Settings, stats: PushdownStats | None = None) -> dict[str, Any]:
    """The batch, stage by stage: {stage: {seconds, peak_rss_mib}}, the tickets investigated
    and what diagnosed them."""
    stages: dict[str, dict[str, float]] = {}
    out: dict[str, Any] = {"stages": stages}

    def timed(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        value = fn()
        stages[name] = {"seconds": round(time.perf_counter() - t0, 2),
                        "peak_rss_mib": round(
                            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)}
        return value

    for source in SOURCE_TABLES:
        timed(f"sync {source}", lambda source=source: sync(source, settings))
    con = open_warehouse(settings)
    try:
        timed("staging", lambda: rebuild_staging(con, settings))
        by_model: dict[str, float] = {}
        rows = timed("features", lambda: build_investigation(
            con, ClickHouseAccess(settings), clickhouse_database=settings.clickhouse_database,
            stats=stats, settled_before=settled_at_clock(settings), timings=by_model))
        out["tickets_investigated"] = rows[INVESTIGATIONS]
        # where the features stage's time goes: a run of a few tickets pays per-model costs
        out["features_slowest_models"] = {
            t: round(s, 2) for t, s in sorted(by_model.items(), key=lambda x: -x[1])[:10]}
        out["diagnoser"] = timed("diagnosis", lambda: _diagnose(con, settings))
        timed("metrics", lambda: _metrics(con, settings))
    finally:
        con.close()
    out["seconds"] = round(sum(s["seconds"] for s in stages.values()), 2)
    return out


def _log_rows(settings: Settings) -> int:
    access = ClickHouseAccess(settings)
    with access.client() as client:
        return int(client.command(f"SELECT count() FROM {access.database}.requests"))


def incremental_benchmark(world_dir: Path, work: Path, *, new_share: float = 0.01,
                          models_dir: Path | None = None, sample: int = 50) -> dict[str, Any]:
    """The full and the incremental batch run, and the per-ticket comparison (module
    docstring). `models_dir`: a registry to serve (default: none, the rules stand-in)."""
    world = World.load(world_dir)
    clock = to_datetime(clock_for_new_share(ticket_created_times(world), world.end, new_share))
    end = to_datetime(world.end)
    with start_servers(world, as_of=clock) as servers:
        env = served_world_environment(servers, world_dir, work, as_of=iso_z(clock))
        if models_dir is not None:
            env["ALTOR_MODELS_DIR"] = str(Path(models_dir).resolve())
        with patched_environ(env):
            settings = Settings.from_env()
            access = ClickHouseAccess(settings)
            load_request_logs(access, world_dir, settings.clickhouse_database, until=clock)
            logs_at_full = _log_rows(settings)
            full = run_batch(settings)
            agent = per_ticket_agent_loop(settings, sample=sample)
            servers.set_as_of(end)
            append_request_logs(access, world_dir, settings.clickhouse_database, clock, end)
            new_logs = _log_rows(settings) - logs_at_full
            later = at_clock(settings, end)
            incremental = run_batch(later)
            con = open_warehouse(settings, read_only=True)
            try:
                tickets = con.execute(
                    "SELECT count(*) FILTER (WHERE created_at <= $t), count(*) "
                    "FROM staging.stg_zendesk__tickets", {"t": naive_utc(clock)}).fetchall()[0]
            finally:
                con.close()
    by_stage = {name: round(s["seconds"] / max(full["stages"][name]["seconds"], 1e-3), 3)
                for name, s in incremental["stages"].items()}
    dominant = max(incremental["stages"], key=lambda n: incremental["stages"][n]["seconds"])
    set_based = full["stages"]["features"]["seconds"] / max(full["tickets_investigated"], 1)
    return {
        "clock": {"full_run_at": iso_z(clock), "incremental_run_at": iso_z(end),
                  "tickets_at_full_run": tickets[0], "new_tickets": tickets[1] - tickets[0],
                  "new_tickets_share": round((tickets[1] - tickets[0]) / max(tickets[0], 1), 4),
                  "log_rows_at_full_run": logs_at_full, "new_log_rows": new_logs,
                  "new_log_rows_share": round(new_logs / max(logs_at_full, 1), 4)},
        "diagnoser": full["diagnoser"],
        "full_run": full,
        "incremental_run": incremental,
        "incremental_over_full": round(incremental["seconds"] / max(full["seconds"], 1e-3), 4),
        "incremental_over_full_by_stage": by_stage,
        "incremental_dominant_stage": {
            "stage": dominant,
            "share_of_incremental_run": round(
                incremental["stages"][dominant]["seconds"] / max(incremental["seconds"], 1e-3),
                3)},
        "set_based_seconds_per_ticket": round(set_based, 5),
        "per_ticket_agent": agent,
        "set_based_speedup_over_per_ticket": round(
            agent["seconds_per_ticket"] / max(set_based, 1e-9), 2),
    }
