"""Benchmark of the live path: delay from a ticket's creation on the help-desk server to its
note, over a live period (p50/p95). A function, not a timed test:

    .venv/bin/python -m altor_sim.bench.latency [--hours 2] [--step 10]
    .venv/bin/python -m altor_sim.bench.latency --per-hour 1000 [--tickets 60]

`--per-hour` is the load test `make bench` runs (`load_latency_benchmark`): the tickets after
go-live replayed faster than real time, so that they arrive at that many an hour on average.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from altor_pipelines.delivery.live import ServedModelDiagnoser
from altor_sim.bench.incremental import ticket_created_times
from altor_sim.environment import world_meta
from altor_sim.live import percentile, serve_live_period
from altor_sim.world.generator import WorldParams, generate_world
from altor_sim.world.reader import World, parse_time


def live_latency_benchmark(world_dir: Path, data_dir: Path, *, hours: float = 2.0,
                           step_seconds: float = 10.0, **period: Any) -> dict[str, Any]:
    """Serve the world, prepare the warehouse at go-live, then run the live loop for `hours`
    of world time (`serve_live_period`; `period` may name `train` and `diagnoser`), the loop
    warmed up first (`warm_up`, its seconds reported apart). Reports p50/p95/max of the
    creation-to-note delay in world seconds, and the cycles' wall time."""
    started = time.perf_counter()
    result, used, prepared = serve_live_period(world_dir, data_dir, hours=hours,
                                               step_seconds=step_seconds, **period)
    delays = list(result.delays.values())
    busy = [c["wall_seconds"] for c in result.cycles if c["new_tickets"]]
    idle = [c["wall_seconds"] for c in result.cycles if not c["new_tickets"]]
    return {
        "world": str(world_dir),
        "diagnoser": used,
        "hours": hours,
        "step_seconds": step_seconds,
        "cycles": len(result.cycles),
        "notes": len(delays),
        "delay_p50_seconds": round(percentile(delays, 0.5), 1),
        "delay_p95_seconds": round(percentile(delays, 0.95), 1),
        "delay_max_seconds": round(max(delays), 1) if delays else None,
        "cycle_wall_p50_seconds_with_new_tickets": round(statistics.median(busy), 2)
        if busy
        else None,
        "cycle_wall_p50_seconds_idle": round(statistics.median(idle), 2) if idle else None,
        "goal_p95_seconds": 30,
        "prepare_seconds": round(prepared, 1),
        "warm_up_seconds": result.warm_up_seconds,
        "total_seconds": round(time.perf_counter() - started, 1),
    }


def load_latency_benchmark(world_dir: Path, data_dir: Path, *, per_hour: float = 1000.0,
                           tickets: int = 60, step_seconds: float = 10.0,
                           models_dir: Path | None = None) -> dict[str, Any]:
    """Note latency at a load of `per_hour` new tickets an hour. The world's first `tickets`
    tickets after go-live arrive at r an hour (world time); the live period replays them
    `per_hour / r` times faster than real time (`run_live_period`'s `time_scale`), so each
    sensor step of `step_seconds` wall seconds sees the tickets (and the other sources' data)
    of `per_hour / r` times as much world time, and each delay is counted in wall seconds.
    Diagnosis serves the model `models_dir` holds (copied), else a model trained on the
    history, else the rules stand-in."""
    go_live = parse_time(world_meta(world_dir)["go_live"])
    created = [t for t in ticket_created_times(World.load(world_dir)) if t >= go_live]
    created = created[:tickets]
    if len(created) < 2:
        raise ValueError(f"{world_dir}: fewer than 2 tickets after go-live")
    span_hours = (created[-1] - go_live) / 3600
    rate = len(created) / span_hours
    scale = per_hour / rate
    period: dict[str, Any] = {}
    if models_dir is not None:
        shutil.copytree(models_dir, Path(data_dir) / "models", dirs_exist_ok=True)
        period = {"train": False, "diagnoser": ServedModelDiagnoser()}
    # one more sensor step after the last ticket, so it is picked up inside the period
    hours = span_hours + 2 * step_seconds * scale / 3600
    out = live_latency_benchmark(world_dir, data_dir, hours=hours, step_seconds=step_seconds,
                                 time_scale=scale, **period)
    out.update({"load_tickets_per_hour": per_hour, "world_tickets_per_hour": round(rate, 2),
                "time_scale": round(scale, 1), "tickets_replayed": len(created),
                "how": f"the first {len(created)} tickets after go-live replayed "
                       f"{scale:.0f}x faster than world time (world rate {rate:.1f}/h, load "
                       f"{per_hour:g}/h); a sensor step every {step_seconds:g} wall s runs "
                       "live_cycle (incremental syncs, staging, investigation of the new "
                       "tickets, diagnosis, write-back); delay = wall seconds from a "
                       "ticket's (scaled) creation to its note"})
    return out


def main(argv: list[str] | None = None) -> None:

    logging.disable(logging.WARNING)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--world", type=Path, help="an existing world (default: generate one)")
    p.add_argument("--hours", type=float, default=2.0)
    p.add_argument("--step", type=float, default=10.0)
    p.add_argument("--per-hour", type=float, default=None,
                   help="a load test: replay the tickets at this many an hour")
    p.add_argument("--tickets", type=int, default=60, help="with --per-hour: how many")
    p.add_argument("--days", type=int, default=28)
    p.add_argument("--customers", type=int, default=20)
    p.add_argument("--tickets-per-week", type=int, default=400)
    a = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        world = a.world
        if world is None:
            world = Path(tmp) / "world"
            generate_world(
                world,
                WorldParams(
                    days=a.days,
                    customers=a.customers,
                    tickets_per_week=a.tickets_per_week,
                    requests_per_minute=20,
                    seed=5,
                ),
            )
        if a.per_hour:
            out = load_latency_benchmark(world, Path(tmp) / "data", per_hour=a.per_hour,
                                         tickets=a.tickets, step_seconds=a.step)
        else:
            out = live_latency_benchmark(world, Path(tmp) / "data", hours=a.hours,
                                         step_seconds=a.step)
        print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
