"""Benchmark of the live path: world-time delay from a ticket's creation on the help-desk
server to its note, over a live period (p50/p95). A function, not a timed test:

    .venv/bin/python -m altor_sim.bench.latency [--hours 2] [--step 10]
"""

from __future__ import annotations

import argparse
import json
import logging
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from altor_sim.live import percentile, serve_live_period
from altor_sim.world.generator import WorldParams, generate_world


def live_latency_benchmark(world_dir: Path, data_dir: Path, *, hours: float = 2.0,
                           step_seconds: float = 10.0, **period: Any) -> dict[str, Any]:
    """Serve the world, prepare the warehouse at go-live, then run the live loop for `hours`
    of world time (`serve_live_period`; `period` may name `train` and `diagnoser`). Reports
    p50/p95/max of the creation-to-note delay in world seconds, and the cycles' wall time."""
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
        "total_seconds": round(time.perf_counter() - started, 1),
    }


def main(argv: list[str] | None = None) -> None:

    logging.disable(logging.WARNING)
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--world", type=Path, help="an existing world (default: generate one)")
    p.add_argument("--hours", type=float, default=2.0)
    p.add_argument("--step", type=float, default=10.0)
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
        print(
            json.dumps(
                live_latency_benchmark(
                    world, Path(tmp) / "data", hours=a.hours, step_seconds=a.step
                ),
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
