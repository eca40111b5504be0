"""`make bench`: speed and memory of the pipeline, as ratios measured in one run.

On a small generated world (so it runs in minutes on 2 cores): the whole `altor eval` path —
ClickHouse load, five syncs, features and rules, training, diagnosis — then a live period.
Figures are per 1,000 tickets or relative to a reference measured in the same run, so they
compare across machines: bytes brought from ClickHouse (the source's aggregates plus the
investigation's per-ticket queries) vs the raw logs, feature seconds per 1,000 tickets, serving
seconds per 1,000 tickets, note latency p95 vs the 30 s goal, and peak memory; per stage, wall
time and the process's peak RSS when it ended. Written to `bench/results/<tier>.json`. Not a
test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from altor_sim.bench.latency import live_latency_benchmark
from altor_sim.evaluation.runner import evaluate_world_dir
from altor_sim.world.generator import WorldParams, generate_world


def run(days: int, customers: int, tickets_per_week: int, requests_per_minute: float,
        live_hours: float, work: Path) -> dict[str, Any]:

    world = work / "world"
    t0 = time.perf_counter()
    generate_world(world, WorldParams(days=days, customers=customers,
                                      tickets_per_week=tickets_per_week,
                                      requests_per_minute=requests_per_minute))
    generation = time.perf_counter() - t0
    result = evaluate_world_dir(world, work_dir=work / "eval", echo=lambda _: None)
    n_after = result["n_tickets"]
    timings = result["timings"]
    features = next(v for k, v in timings.items() if k.startswith("staging, features"))
    live = (live_latency_benchmark(world, work / "live", hours=live_hours, step_seconds=10.0)
            if live_hours > 0 else {})
    clickhouse = result["clickhouse"]
    return {
        "world": {"days": days, "customers": customers, "tickets_scored": n_after,
                  "generation_seconds": round(generation, 1)},
        "clickhouse_bytes_fetched_over_raw": clickhouse["fetched_over_raw_uncompressed"],
        "clickhouse_bytes_fetched": clickhouse["fetched_bytes"],
        "clickhouse_raw_uncompressed_bytes": clickhouse["raw"]["uncompressed_bytes"],
        "clickhouse_raw_rows": clickhouse["raw"]["rows"],
        "clickhouse_fetched_by_query": {**clickhouse["fetched"], **clickhouse["pushed_down"]},
        "stages": {name: {"seconds": seconds,
                          "peak_rss_mib": result["peak_rss_mib_by_stage"].get(name)}
                   for name, seconds in timings.items()},
        "features_seconds_per_1000_tickets": round(1000 * features / _tickets(work), 2),
        "serve_seconds_per_1000_tickets": result["model"]["serve_seconds_per_1000_tickets"],
        "train_seconds": result["model"]["train_seconds"],
        "note_latency_p50_seconds": live.get("delay_p50_seconds"),
        "note_latency_p95_seconds": live.get("delay_p95_seconds"),
        "note_latency_p95_over_goal_30s": round((live.get("delay_p95_seconds") or 0) / 30.0, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "eval": {k: result[k] for k in ("macro_f1", "delivered_precision", "delivered_share")},
    }


def _tickets(work: Path) -> int:
    con = duckdb.connect(str(work / "eval" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM features.fct_ticket_features").fetchall()[0][0]
    finally:
        con.close()


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--days", type=int, default=21)
    p.add_argument("--customers", type=int, default=20)
    p.add_argument("--tickets-per-week", type=int, default=400)
    p.add_argument("--requests-per-minute", type=float, default=60.0)
    p.add_argument("--live-hours", type=float, default=2.0)
    p.add_argument("--tier", default="small")
    p.add_argument("--out", type=Path, default=None,
                   help="default: bench/results/<tier>.json")
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="altor-bench-") as tmp:
        figures = run(a.days, a.customers, a.tickets_per_week, a.requests_per_minute,
                      a.live_hours, Path(tmp))
    out = a.out or Path("bench") / "results" / f"{a.tier}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"tier": a.tier, **figures}, indent=2) + "\n")
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
