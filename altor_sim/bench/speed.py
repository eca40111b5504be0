"""`make bench`: speed and memory of the pipeline, as ratios measured in one run.

On a small generated world (so it runs in minutes on 2 cores): the whole `altor eval` path —
ClickHouse load, five syncs, features and rules, training, diagnosis — then the batch served at
a clock before the world's end, run in full and again after 1% new data (bench/incremental.py),
a per-ticket agent loop on a sample of the same tickets (bench/per_ticket.py), and a live
period at a load of 1,000 new tickets an hour (bench/latency.py). Figures are per 1,000 tickets
or relative to a reference measured in the same run, so they compare across machines: bytes
brought from ClickHouse (the source's aggregates plus the investigation's per-ticket queries) vs
the raw logs, the incremental run's time vs the full run's, the set-based investigation's time
per ticket vs the per-ticket loop's, the note latency p95 at load vs the 30 s goal, and peak
memory; per stage, wall time and the process's peak RSS when it ended. Written to
`bench/results/<tier>.json`. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb

from altor_pipelines.operations.console import quiet_terminal
from altor_sim.bench.incremental import incremental_benchmark
from altor_sim.bench.latency import load_latency_benchmark
from altor_sim.evaluation.runner import evaluate_world_dir
from altor_sim.world.generator import WorldParams, generate_world

# The goals (#15, "Tiers"): key -> (comparison, bound)
GOALS = {
    "clickhouse_bytes_fetched_over_raw": ("<=", 0.01),
    "incremental_over_full": ("<=", 0.05),
    "set_based_speedup_over_per_ticket": (">=", 100.0),
    "note_latency_p95_seconds_at_1000_per_hour": ("<=", 30.0),
}
LOAD_PER_HOUR = 1000.0
# World sizes per tier (issue #15): requests_per_minute is the platform's mean rate, so log rows
# are about days x 1,440 x 1.5 x that (diurnal peaks and episodes' extra rows).
TIERS: dict[str, dict[str, Any]] = {
    "small": {"days": 21, "customers": 20, "tickets_per_week": 400, "requests_per_minute": 60.0},
    "medium": {"days": 70, "customers": 400, "tickets_per_week": 10_000,
               "requests_per_minute": 70.0},  # ~100k tickets, ~10M rows
    "large": {"days": 70, "customers": 2_000, "tickets_per_week": 100_000,
              "requests_per_minute": 700.0},  # ~1M tickets, ~100M rows
}


def goals_met(figures: dict[str, Any]) -> dict[str, bool | None]:
    """Each goal met (True/False), or None when its figure was not measured."""
    out: dict[str, bool | None] = {}
    for key, (op, bound) in GOALS.items():
        value = figures.get(key)
        out[key] = None if value is None else (value <= bound if op == "<=" else value >= bound)
    return out


def _number(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def run(days: int, customers: int, tickets_per_week: int, requests_per_minute: float,
        load_tickets: int, work: Path, agent_sample: int = 50,
        echo: Callable[[str], Any] = lambda _: None) -> dict[str, Any]:

    world = work / "world"
    t0 = time.perf_counter()
    echo("generating the world …")
    generate_world(world, WorldParams(days=days, customers=customers,
                                      tickets_per_week=tickets_per_week,
                                      requests_per_minute=requests_per_minute))
    generation = time.perf_counter() - t0
    echo(f"  {generation:.0f} s; the whole pipeline on it (altor eval) …")
    result = evaluate_world_dir(world, work_dir=work / "eval", echo=lambda _: None)
    n_after = result["n_tickets"]
    timings = result["timings"]
    features = next(v for k, v in timings.items() if k.startswith("staging, features"))
    n_features = _tickets(work)
    models = work / "eval" / "models"
    echo(f"  {time.perf_counter() - t0:.0f} s; the batch in full, after 1% new data, and a "
         "per-ticket loop …")
    incremental = incremental_benchmark(world, work / "incremental", models_dir=models,
                                        sample=agent_sample)
    echo(f"  {time.perf_counter() - t0:.0f} s; note latency at 1,000 tickets an hour …")
    live = (load_latency_benchmark(world, work / "live", per_hour=LOAD_PER_HOUR,
                                   tickets=load_tickets, models_dir=models)
            if load_tickets > 0 else {})
    p95 = _number(live.get("delay_p95_seconds"))
    echo(f"  {time.perf_counter() - t0:.0f} s in all")
    clickhouse = result["clickhouse"]
    figures = {
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
        "features_seconds_per_1000_tickets": round(1000 * features / n_features, 2),
        "serve_seconds_per_1000_tickets": result["model"]["serve_seconds_per_1000_tickets"],
        "train_seconds": result["model"]["train_seconds"],
        "incremental_over_full": incremental["incremental_over_full"],
        "incremental_over_full_by_stage": incremental["incremental_over_full_by_stage"],
        "incremental_dominant_stage": incremental["incremental_dominant_stage"],
        "set_based_speedup_over_per_ticket": incremental["set_based_speedup_over_per_ticket"],
        "set_based_seconds_per_ticket": incremental["set_based_seconds_per_ticket"],
        "per_ticket_agent_seconds_per_ticket":
            incremental["per_ticket_agent"]["seconds_per_ticket"],
        "note_latency_p50_seconds_at_1000_per_hour": _number(live.get("delay_p50_seconds")),
        "note_latency_p95_seconds_at_1000_per_hour": p95,
        "note_latency_measured": live.get("how"),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "eval": {k: result[k] for k in ("macro_f1", "delivered_precision", "delivered_share")},
        "incremental": incremental,
        "note_latency": live,
    }
    figures["goals_met"] = goals_met(figures)
    return figures


def _tickets(work: Path) -> int:
    con = duckdb.connect(str(work / "eval" / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("SELECT count(*) FROM features.fct_ticket_features").fetchall()[0][0]
    finally:
        con.close()


def summary_lines(figures: dict[str, Any]) -> list[str]:
    """The goals and the figures a reader looks for first, a line each."""
    lines = []
    for key, (op, bound) in GOALS.items():
        met = figures["goals_met"][key]
        verdict = "not measured" if met is None else ("met" if met else "NOT met")
        lines.append(f"  {key:<44} {figures.get(key)!s:>10}  goal {op} {bound:g}: {verdict}")
    inc = figures["incremental"]
    lines.append(f"  incremental run: {inc['incremental_run']['tickets_investigated']} of "
                 f"{inc['full_run']['tickets_investigated']} tickets investigated; "
                 f"dominant stage {figures['incremental_dominant_stage']['stage']}")
    lines.append(f"  peak RSS {figures['peak_rss_mib']:,.0f} MiB")
    return lines


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tier", default="small", help=f"world size: {', '.join(TIERS)} "
                   "(a name of your own with the options below)")
    p.add_argument("--days", type=int, default=None)
    p.add_argument("--customers", type=int, default=None)
    p.add_argument("--tickets-per-week", type=int, default=None)
    p.add_argument("--requests-per-minute", type=float, default=None)
    p.add_argument("--load-tickets", type=int, default=60,
                   help="tickets replayed at 1,000 an hour for the note latency (0: skip)")
    p.add_argument("--agent-sample", type=int, default=50,
                   help="tickets the per-ticket agent loop investigates")
    p.add_argument("--out", type=Path, default=None,
                   help="default: bench/results/<tier>.json")
    p.add_argument("--verbose", action="store_true",
                   help="libraries' logs on the terminal instead of data/bench/<tier>.log")
    a = p.parse_args(argv)
    sizes = ("days", "customers", "tickets_per_week", "requests_per_minute")
    given = {k: getattr(a, k) for k in sizes if getattr(a, k) is not None}
    if a.tier not in TIERS and len(given) < len(sizes):
        p.error(f"unknown tier {a.tier!r} (known: {', '.join(TIERS)}); a tier of your own "
                "needs --days, --customers, --tickets-per-week and --requests-per-minute")
    size = {**TIERS.get(a.tier, {}), **given}
    out = a.out or Path("bench") / "results" / f"{a.tier}.json"
    log_path = Path("data") / "bench" / f"{a.tier}.log"
    log_path.unlink(missing_ok=True)  # this run's logs only
    print(f"bench, tier {a.tier} ({size}); logs: {log_path}", flush=True)
    with quiet_terminal(log_path, a.verbose) as console, \
            tempfile.TemporaryDirectory(prefix="altor-bench-") as tmp:
        figures = run(size["days"], size["customers"], size["tickets_per_week"],
                      size["requests_per_minute"], a.load_tickets, Path(tmp), a.agent_sample,
                      echo=console.print)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"tier": a.tier, **figures}, indent=2) + "\n")
    print("\n".join(summary_lines(figures)))
    print(f"written: {out}")


if __name__ == "__main__":
    main()
