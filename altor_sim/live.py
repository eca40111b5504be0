"""The demo's live period: a served world from its go-live on, the product's live path running
as the servers' clock advances, and the simulated agents acting on the notes.

`prepare_live_world` is the set-up the live demo, the latency benchmark (bench/latency.py) and
the integration tests share: load the world's request logs into ClickHouse, serve the world at
go-live, sync every source, build staging and the history's features, and (optionally) train
the model on the history before go-live. `run_live_period` advances the clock; `run_live_demo`
is `altor demo run --live-hours`.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from altor_pipelines.clock import iso_z, naive_utc, parse_time
from altor_pipelines.delivery.live import (
    OTHER_SOURCES,
    live_cycle,
    new_tickets_since,
    rebuild_staging,
    sync_sources,
    warm_up,
)
from altor_pipelines.delivery.writeback import writeback_client
from altor_pipelines.investigation.build import build_investigation
from altor_pipelines.ml.promote import build_triage_model
from altor_pipelines.ml.registry import registry_root
from altor_pipelines.ml.serve import ensure_diagnoses_table
from altor_pipelines.settings import Settings
from altor_pipelines.sources.sync import sync
from altor_pipelines.taxonomy import NOVEL, action_for
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import open_warehouse, sql_text
from altor_sim.agents import SimulatedAgents, historical_behaviour
from altor_sim.clickhouse.loader import load_world_logs
from altor_sim.environment import patched_environ, served_world_environment, world_meta
from altor_sim.servers import start_servers


def prepare_live_world(
    servers: Any, world_dir: Path, data_dir: Path, *, train: bool = True
) -> Settings:
    """Bring a fresh warehouse to the world's go-live (servers' clock set there). Returns the
    settings of the served world (clock at go-live); the caller keeps the environment."""
    go_live = world_meta(world_dir)["go_live"]
    servers.set_as_of(go_live)
    env = served_world_environment(servers, world_dir, data_dir, as_of=go_live)
    with patched_environ(env):
        settings = Settings.from_env()
        load_world_logs(world_dir)
    sync_served_world(settings)
    con = open_warehouse(settings)
    try:
        build_investigation(con, ClickHouseAccess(settings),
                            clickhouse_database=settings.clickhouse_database)
    finally:
        con.close()
    if train:
        train_history_model(settings)
    return settings


def sync_served_world(settings: Settings) -> None:
    """Every source of the served world into the warehouse (the help desk last), and staging
    rebuilt from it."""
    sync_sources(settings, OTHER_SOURCES, helpdesk=False)
    sync("zendesk", settings)
    con = open_warehouse(settings)
    try:
        rebuild_staging(con, settings)
    finally:
        con.close()


def train_history_model(settings: Settings) -> dict[str, Any]:
    """Train and register the classifier on the labelled history before go-live."""
    con = open_warehouse(settings)
    try:
        before = naive_utc(settings.go_live)
        return build_triage_model(con, registry_root(settings), before=before)
    finally:
        con.close()


def rules_diagnoser(con: Any, settings: Settings, ticket_ids: list[int], now: Any) -> int:
    """A stand-in for the classifier with the same output contract (`diagnosis.diagnoses`,
    model_version `rules`): the best heuristic rule's cause, delivered when its score is at
    least 0.8. For benchmarks and tests when no model can be trained on a small world."""
    ensure_diagnoses_table(con)
    rows = con.execute(sql_text("sim/best_rule_diagnoses.sql"), {"ids": ticket_ids}).fetchall()
    insert = sql_text("sim/insert_rule_diagnosis.sql")
    for tid, cause, p, fired in rows:
        delivered = p >= 0.8 and cause != NOVEL
        shown = cause if delivered else None
        con.execute(insert, {
            "ticket_id": tid, "cause": shown, "top_cause": cause, "top_probability": p,
            "probabilities": json.dumps({cause: p}),
            "confidence_band": "high" if delivered else ("medium" if p >= 0.5 else "low"),
            "escalate": action_for(shown) == "escalate", "abstained": not delivered,
            "action": action_for(shown), "rules_fired": list(fired or []),
            "diagnosed_at": naive_utc(now),
        })
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


def at_clock(settings: Settings, t: datetime) -> Settings:
    """The settings with the pipeline's clock set to `t` (the demo world's clock)."""
    return dataclasses.replace(settings, as_of=iso_z(t))


@dataclass
class PeriodResult:
    cycles: list[dict[str, Any]] = field(default_factory=list)
    delays: dict[int, float] = field(default_factory=dict)  # ticket -> world seconds to note
    agent_actions: int = 0
    warm_up_seconds: dict[str, float] = field(default_factory=dict)  # before the clock ran


def run_live_period(
    servers: Any,
    settings: Settings,
    start: datetime,
    end: datetime,
    *,
    step_seconds: float = 10.0,
    agents: Any = None,
    time_scale: float = 1.0,
    **cycle_kwargs: Any,
) -> PeriodResult:
    """Advance the demo clock from `start` to `end` as if in real time: a cycle starts at world
    time W, takes P wall seconds, and the next starts at W + max(step, P) (the sensor's
    interval, or right after a long cycle). As the sensor does, a step runs a cycle only when
    the cheap probe of the ticket export sees new tickets. A note written p wall seconds into
    the cycle at W reaches the help desk at world time W + p: its delay is W + p - created_at.
    Simulated agents (altor_sim/agents.py), when given, act at each step's clock.

    `time_scale` > 1 replays the world faster than real time (a load test): a wall second is
    `time_scale` world seconds, so a cycle sees `time_scale` times the tickets (and the other
    sources' data) that arrive in its wall time, and a delay is counted in wall seconds,
    (W - created_at) / time_scale + p."""
    out = PeriodResult()
    probe_client = writeback_client(settings)
    cursor: dict[str, Any] = {"created": int(start.timestamp()) - 1}
    w = start
    while w <= end:
        servers.set_as_of(w)
        began = time.perf_counter()
        offsets: dict[int, float] = {}

        def written(tid: int, offsets: dict = offsets, began: float = began) -> None:
            offsets[tid] = time.perf_counter() - began

        if (w - start).total_seconds() >= 61:  # the export refuses a start within a minute
            fresh, cursor = new_tickets_since(probe_client, cursor, w)
        else:
            fresh = []
        if not fresh:  # what the sensor does: no new ticket, no run
            if agents is not None:
                out.agent_actions += agents.step(w)
            w = w + timedelta(seconds=step_seconds * time_scale)
            continue
        res = live_cycle(at_clock(settings, w), on_written=written, **cycle_kwargs)
        spent = time.perf_counter() - began
        for tid, created in res.new_tickets.items():
            if tid in offsets:
                out.delays[tid] = (w - created).total_seconds() / time_scale + offsets[tid]
        cycle = res.summary()
        cycle["wall_seconds"] = round(spent, 3)
        out.cycles.append(cycle)
        if agents is not None:
            out.agent_actions += agents.step(w)
        w = w + timedelta(seconds=max(step_seconds, spent) * time_scale)
    return out


def percentile(values: list[float], q: float) -> float:
    """The q-quantile of `values`, interpolated between the two nearest ranks (NaN if none)."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def serve_live_period(
    world_dir: Path,
    data_dir: Path,
    *,
    hours: float,
    step_seconds: float,
    train: bool = True,
    diagnoser: Any = None,
    agents_seed: int | None = None,
    state_dir: Path | None = None,
    time_scale: float = 1.0,
) -> tuple[PeriodResult, str, float]:
    """Serve the world from its go-live, prepare the warehouse, then run the live period for
    `hours` of world time (replayed `time_scale` times faster than real time), with simulated
    agents when `agents_seed` is given. Returns the period, the name of what diagnosed, and
    the seconds the preparation took."""
    started = time.perf_counter()
    go_live = parse_time(world_meta(world_dir)["go_live"])
    with start_servers(world_dir, as_of=go_live, state_dir=state_dir) as servers:
        settings = prepare_live_world(servers, Path(world_dir), Path(data_dir), train=False)
        diagnoser, used = live_diagnoser(settings, train, diagnoser)
        agents = None
        if agents_seed is not None:
            con = open_warehouse(settings, read_only=True)
            try:
                behaviour = historical_behaviour(con, go_live)
            finally:
                con.close()
            agents = SimulatedAgents(world_dir, writeback_client(settings), behaviour,
                                     seed=agents_seed)
        prepared = time.perf_counter() - started
        # the loop warms up before the clock runs, as a worker starting does: the delays
        # measured are a running loop's, not its first cycle's catch-up
        warmed = warm_up(at_clock(settings, go_live))
        kwargs = {"diagnoser": diagnoser} if diagnoser else {}
        period = run_live_period(servers, settings, go_live, go_live + timedelta(hours=hours),
                                 step_seconds=step_seconds, agents=agents,
                                 time_scale=time_scale, **kwargs)
        period.warm_up_seconds = {k: round(v, 2) for k, v in warmed.items()}
    return period, used, prepared


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
    period, used, _ = serve_live_period(
        world_dir, data_dir, hours=hours, step_seconds=step_seconds, train=train,
        agents_seed=seed, state_dir=Path(data_dir) / "helpdesk")
    delays = list(period.delays.values())
    return {
        "notes": len(delays),
        "cycles": len(period.cycles),
        "agent_actions": period.agent_actions,
        "delay_p50_seconds": round(percentile(delays, 0.5), 1),
        "delay_p95_seconds": round(percentile(delays, 0.95), 1),
        "diagnoser": used,
    }
