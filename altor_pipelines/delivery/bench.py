"""Benchmark of the live path: world-time delay from a ticket's creation on the help-desk
server to its note, over a live period (p50/p95). A function, not a timed test:

    .venv/bin/python -m altor_pipelines.delivery.bench [--hours 2] [--step 10]

`prepare_live_world` is the set-up the benchmark, the live demo and the integration tests
share: load the world's request logs into ClickHouse, serve the world at go-live, sync every
source, build staging and the history's features, and (optionally) train the model on the
history before go-live.
"""

from __future__ import annotations

import json
import statistics
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from altor_pipelines.settings import Settings


def prepare_live_world(
    servers: Any, world_dir: Path, data_dir: Path, *, train: bool = True
) -> Settings:
    """Bring a fresh warehouse to the world's go-live (servers' clock set there). Returns the
    settings of the served world (clock at go-live); the caller keeps the environment."""
    from altor_pipelines.delivery.live import rebuild_staging, sync_sources
    from altor_pipelines.demo.environment import (
        patched_environ,
        served_world_environment,
        world_meta,
    )
    from altor_pipelines.demo.run import load_clickhouse
    from altor_pipelines.investigation import build_investigation
    from altor_pipelines.warehouse.duckdb import connect

    go_live = world_meta(world_dir)["go_live"]
    servers.set_as_of(go_live)
    env = served_world_environment(servers, world_dir, data_dir, as_of=go_live)
    with patched_environ(env):
        settings = Settings.from_env()
        load_clickhouse(world_dir)
    sync_sources(settings, ("stripe", "linear", "github", "clickhouse"), helpdesk=False)
    from altor_pipelines.ingest import sync

    sync("zendesk", settings)
    con = connect(settings.warehouse_path)
    try:
        rebuild_staging(con, settings)
        build_investigation(con, clickhouse_database=settings.clickhouse_database)
    finally:
        con.close()
    if train:
        train_history_model(settings)
    return settings


def train_history_model(settings: Settings) -> dict[str, Any]:
    """Train and register the classifier on the labelled history before go-live."""
    from altor_pipelines.ml.registry import registry_root
    from altor_pipelines.ml.train import build_triage_model
    from altor_pipelines.pipeline import parse_time
    from altor_pipelines.warehouse.duckdb import connect

    con = connect(settings.warehouse_path)
    try:
        before = parse_time(settings.go_live).replace(tzinfo=None)
        return build_triage_model(con, registry_root(settings), before=before)
    finally:
        con.close()


RULES_SQL = """
SELECT ticket_id, best_rule_cause AS cause, best_rule_score AS p, rules_fired
FROM heuristics.rule_scores WHERE list_contains(CAST($ids AS BIGINT[]), ticket_id)
"""


def rules_diagnoser(con: Any, settings: Settings, ticket_ids: list[int], now: Any) -> int:
    """A stand-in for the classifier with the same output contract (`diagnosis.diagnoses`,
    model_version `rules`): the best heuristic rule's cause, delivered when its score is at
    least 0.8. For benchmarks and tests when no model can be trained on a small world."""
    from altor_pipelines.ml.serve import ensure_diagnoses_table

    ensure_diagnoses_table(con)
    rows = con.execute(RULES_SQL, {"ids": ticket_ids}).fetchall()
    naive = now.replace(tzinfo=None)
    for tid, cause, p, fired in rows:
        delivered = p >= 0.8 and cause != "novel"
        band = "high" if delivered else ("medium" if p >= 0.5 else "low")
        escalate = not delivered or cause in ("deploy_regression", "novel")
        action = "escalate" if escalate else ("reroute" if cause == "misrouted" else "reply")
        con.execute(
            "INSERT OR REPLACE INTO diagnosis.diagnoses (ticket_id, model_version, cause, "
            "top_cause, top_probability, probabilities, confidence_band, escalate, abstained, "
            "action, threshold, rules_fired, diagnosed_at) VALUES (?, 'rules', ?, ?, ?, "
            "CAST(? AS JSON), ?, ?, ?, ?, 0.8, ?, ?)",
            [
                tid,
                cause if delivered else None,
                cause,
                p,
                json.dumps({cause: p}),
                band,
                escalate,
                not delivered,
                action,
                list(fired or []),
                naive,
            ],
        )
    return len(rows)


def live_diagnoser(settings: Settings, train: bool, diagnoser: Any = None) -> tuple[Any, str]:
    """What diagnoses the live loop's tickets, and its name: `diagnoser` when given; else the
    classifier trained on the history before go-live (returned as None: the loop's default,
    the served model) when `train`; else, or when training is impossible (e.g. too few
    labelled tickets of a cause), the rules stand-in."""
    if diagnoser is not None:
        return diagnoser, getattr(diagnoser, "__name__", "given")
    if train:
        try:
            train_history_model(settings)
            return None, "model"
        except ValueError as exc:
            return rules_diagnoser, f"rules (training failed: {exc})"
    return rules_diagnoser, "rules"


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def live_latency_benchmark(
    world_dir: Path,
    data_dir: Path,
    *,
    hours: float = 2.0,
    step_seconds: float = 10.0,
    train: bool = True,
    diagnoser: Any = None,
) -> dict[str, Any]:
    """Serve the world, prepare the warehouse at go-live, then run the live loop for `hours`
    of world time (see live.run_live_period for the clock mapping). Reports p50/p95/max of
    the creation-to-note delay in world seconds, and the cycles' wall time."""
    from altor_pipelines.delivery.live import run_live_period
    from altor_pipelines.demo.environment import world_meta
    from altor_pipelines.demo.servers import start_servers
    from altor_pipelines.pipeline import parse_time

    started = time.perf_counter()
    go_live = parse_time(world_meta(world_dir)["go_live"])
    with start_servers(world_dir, as_of=go_live) as servers:
        settings = prepare_live_world(servers, Path(world_dir), Path(data_dir), train=False)
        diagnoser, used = live_diagnoser(settings, train, diagnoser)
        prepared = time.perf_counter() - started
        kwargs = {"diagnoser": diagnoser} if diagnoser else {}
        period = run_live_period(
            servers,
            settings,
            go_live,
            go_live + timedelta(hours=hours),
            step_seconds=step_seconds,
            **kwargs,
        )
    delays = list(period.delays.values())
    busy = [c["wall_seconds"] for c in period.cycles if c["new_tickets"]]
    idle = [c["wall_seconds"] for c in period.cycles if not c["new_tickets"]]
    return {
        "world": str(world_dir),
        "diagnoser": used,
        "hours": hours,
        "step_seconds": step_seconds,
        "cycles": len(period.cycles),
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
    import argparse
    import logging
    import tempfile

    from altor_pipelines.demo.generator import WorldParams, generate_world

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


def run_live_demo(
    world_dir: Path,
    data_dir: Path,
    *,
    hours: float = 24.0,
    step_seconds: float = 60.0,
    train: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """The demo's live period: serve the world from go-live, prepare the warehouse, then let
    the clock run for `hours` with the live loop writing notes and the simulated agents acting
    on them (agents.py), so the after-go-live metrics come from the help desk's own data.
    Returns a summary (notes, delays, agent actions)."""
    from altor_pipelines.delivery.agents import SimulatedAgents, historical_behaviour
    from altor_pipelines.delivery.live import run_live_period
    from altor_pipelines.delivery.writeback import writeback_client
    from altor_pipelines.demo.environment import world_meta
    from altor_pipelines.demo.servers import start_servers
    from altor_pipelines.pipeline import parse_time
    from altor_pipelines.warehouse.duckdb import connect

    go_live = parse_time(world_meta(world_dir)["go_live"])
    with start_servers(world_dir, as_of=go_live, state_dir=Path(data_dir) / "helpdesk") as servers:
        settings = prepare_live_world(servers, Path(world_dir), Path(data_dir), train=False)
        diagnoser, used = live_diagnoser(settings, train)
        con = connect(settings.warehouse_path, read_only=True)
        try:
            behaviour = historical_behaviour(con, go_live)
        finally:
            con.close()
        agents = SimulatedAgents(world_dir, writeback_client(settings), behaviour, seed=seed)
        kwargs = {"diagnoser": diagnoser} if diagnoser else {}
        period = run_live_period(
            servers,
            settings,
            go_live,
            go_live + timedelta(hours=hours),
            step_seconds=step_seconds,
            agents=agents,
            **kwargs,
        )
    delays = list(period.delays.values())
    return {
        "notes": len(delays),
        "cycles": len(period.cycles),
        "agent_actions": period.agent_actions,
        "delay_p50_seconds": round(percentile(delays, 0.5), 1),
        "delay_p95_seconds": round(percentile(delays, 0.95), 1),
        "diagnoser": used,
    }


if __name__ == "__main__":
    main()
