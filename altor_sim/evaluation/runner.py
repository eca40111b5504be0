"""`altor eval --world DIR`: measure the pipeline on any world in the altor-world/1 format.

The world is loaded into fresh stores (a new ClickHouse data directory and a new warehouse),
served through the vendors' APIs, synced and investigated exactly as in production; a model is
trained on the help-desk history before go-live and diagnoses the tickets after it. Only the
final scoring reads `truth/` (ml/evaluate.py), never the pipeline.
"""

from __future__ import annotations

import json
import resource
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from altor_pipelines.ml.registry import registry_root
from altor_pipelines.ml.train import DEFAULT_TRAIN
from altor_pipelines.settings import Settings
from altor_pipelines.sources.clickhouse_logs import raw_log_size
from altor_pipelines.sources.sync import SOURCE_TABLES, sync
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import SQL_DIR, open_warehouse
from altor_pipelines.warehouse.pushdown import PushdownStats
from altor_pipelines.warehouse.sql_runner import run_models, sql_parameters
from altor_sim.clickhouse.loader import load_request_logs
from altor_sim.environment import patched_environ, served_world_environment
from altor_sim.evaluation.classifier import score_world, world_go_live
from altor_sim.evaluation.heuristics import evaluate_heuristics
from altor_sim.servers import start_servers
from altor_sim.world.validate import validate_world

INVESTIGATION_LAYERS = ("staging", "intermediate", "features", "heuristics")


def evaluate_world_dir(world_dir: Path, out: Path | None = None, work_dir: Path | None = None,
                       echo: Callable[[str], Any] = print) -> dict[str, Any]:

    started = time.perf_counter()
    world_dir = Path(world_dir).resolve()
    validate_world(world_dir, check_logs=False)
    work = Path(work_dir or tempfile.mkdtemp(prefix="altor-eval-")).resolve()
    timings: dict[str, float] = {}
    peak_rss: dict[str, float] = {}  # the process's peak RSS (MiB) when each stage ended

    def step(name: str, t0: float) -> None:
        timings[name] = round(time.perf_counter() - t0, 1)
        peak_rss[name] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
        echo(f"  {name}: {timings[name]} s")

    with start_servers(world_dir) as servers:
        env = served_world_environment(servers, world_dir, work)
        with patched_environ(env):
            settings = Settings.from_env()
            t0 = time.perf_counter()
            rows = load_request_logs(ClickHouseAccess(settings), world_dir,
                                     settings.clickhouse_database)
            step(f"clickhouse load ({rows:,} rows)", t0)
            fetched: dict[str, Any] = {}
            for source in SOURCE_TABLES:
                t0 = time.perf_counter()
                fetched.update(sync(source, settings).details.get("clickhouse", {}))
                step(f"sync {source}", t0)
            pushdown = PushdownStats()
            con = open_warehouse(settings)
            try:
                t0 = time.perf_counter()
                run_models(con, INVESTIGATION_LAYERS, sql_parameters(settings),
                           clickhouse=ClickHouseAccess(settings), stats=pushdown)
                step("staging, features, heuristics", t0)
                clickhouse = clickhouse_traffic(settings, fetched, pushdown)
                # The rules alone, on the same tickets (issue [C]'s evaluation).
                rules = evaluate_heuristics(con, world_dir / "truth" / "tickets.csv",
                                            since=world_go_live(world_dir))
                t0 = time.perf_counter()
                config = replace(DEFAULT_TRAIN,
                                 min_delivered_share=settings.min_delivered_share)
                result = score_world(con, world_dir, registry_root(settings), SQL_DIR, started,
                                     config)
                step("train and diagnose", t0)
                result["heuristics_only"] = rules.to_dicts()
            finally:
                con.close()
    result["clickhouse"] = clickhouse
    result["seconds"] = round(time.perf_counter() - started, 1)
    result["timings"] = timings
    result["peak_rss_mib_by_stage"] = peak_rss
    result["work_dir"] = str(work)
    if out is not None:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps(result, indent=2, default=str) + "\n")
    return result


def clickhouse_traffic(settings: Settings, fetched: dict[str, Any],
                       pushdown: PushdownStats | None = None) -> dict[str, Any]:
    """What came back from ClickHouse — the source's aggregates and the investigation's
    per-ticket queries (Arrow bytes per resource or query) — against the raw request logs it
    summarised: the pipeline's cost should follow tickets, not log volume."""
    access = ClickHouseAccess(settings)
    with access.client() as client:
        raw = raw_log_size(client, access.database)
    per_ticket = pushdown.summary() if pushdown is not None else {}
    total = sum(r.get("bytes", 0) for r in fetched.values()) + sum(
        r["bytes"] for r in per_ticket.values())
    return {"fetched": fetched, "pushed_down": per_ticket, "fetched_bytes": total, "raw": raw,
            "fetched_over_raw_uncompressed": round(total / max(raw["uncompressed_bytes"], 1), 4)}
