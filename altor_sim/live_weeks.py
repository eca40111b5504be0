"""The demo's weeks after go-live: the live path over the served world, ticket by ticket, with
the simulated agents acting on the notes it delivers (altor_sim/agents.py).

The clock. The servers' clock stands still between events and jumps to the next one: the first
sensor tick that can see the next ticket (the incremental export shows a ticket a minute after
it changed; the sensor looks every 10 s), or an agent's next due action. While the pipeline
works the clock runs with wall time (`DemoServers.set_as_of(..., running=True)`), so a note
reaches the help desk at the world time the work ended: the creation -> note time the marts
measure is the live path's own, never compressed.

The start. Before the clock moves the loop warms up (`delivery.live.warm_up`: syncs, staging,
the warehouse's copy of the logs brought to go-live), as a worker starting would, so the first
ticket's cycle costs what the others do.

The sensor. As `live_ticket_sensor` does, a tick runs a live cycle only when the cheap probe of
the help desk's export sees new tickets; the simulation's knowledge of arrival times only
chooses when to look.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from altor_pipelines.delivery.live import live_cycle, new_tickets_since, warm_up
from altor_pipelines.delivery.writeback import writeback_client
from altor_pipelines.settings import Settings
from altor_sim.live import at_clock

SENSOR_INTERVAL_SECONDS = 10
EXPORT_SETTLE_SECONDS = 60  # the export lists a change once it is a minute old (servers/zendesk)


@dataclass
class LiveWeeksResult:
    cycles: int = 0
    tickets: int = 0
    delays: dict[int, float] = field(default_factory=dict)  # ticket -> world seconds to note
    agent_actions: int = 0
    cycle_wall_seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    stage_seconds: dict[str, float] = field(default_factory=dict)  # summed over cycles
    warm_up_seconds: dict[str, float] = field(default_factory=dict)  # once, before the clock


def _utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def sensor_tick(created: float) -> float:
    """The first sensor tick at which the export lists a ticket created at `created`."""
    visible = created + EXPORT_SETTLE_SECONDS + 1
    return math.ceil(visible / SENSOR_INTERVAL_SECONDS) * SENSOR_INTERVAL_SECONDS


def arrival_times(servers: Any, start: datetime, end: datetime) -> list[float]:
    """Creation times (unix) of the world's tickets created in (start, end]."""
    tickets = servers.world.collection("zendesk", "tickets")
    a, b = start.timestamp(), end.timestamp()
    out = []
    for tid in tickets.ids():
        first = tickets.versions(tid)[0].at
        if a < first <= b:
            out.append(first)
    return sorted(out)


def run_live_weeks(
    servers: Any,
    settings: Settings,
    start: datetime,
    end: datetime,
    *,
    agents: Any,
    on_cycle: Callable[[LiveWeeksResult, datetime], None] | None = None,
    **cycle_kwargs: Any,
) -> LiveWeeksResult:
    """Run the live path from `start` to `end` (world time) as described in the module
    docstring; `on_cycle(result, world_time)` after each cycle (progress)."""
    out = LiveWeeksResult()
    servers.set_as_of(start)
    out.warm_up_seconds = warm_up(at_clock(settings, start), cycle_kwargs.get("pipelines"))
    began = time.perf_counter()
    ticks = sorted({sensor_tick(c) for c in arrival_times(servers, start, end)})
    probe = writeback_client(settings)
    cursor: dict[str, Any] = {"created": int(start.timestamp()) - 1}
    end_ts = end.timestamp()
    w = start.timestamp()
    i = 0
    while True:
        upcoming = [ticks[i]] if i < len(ticks) else []
        if agents.queue:
            upcoming.append(agents.queue[0].due.timestamp())
        if not upcoming or min(upcoming) > end_ts:
            break
        w = max(w, min(upcoming))  # jump to the next event; never back
        servers.set_as_of(w)
        fresh: list[int] = []
        if i < len(ticks) and ticks[i] <= w:
            fresh, cursor = new_tickets_since(probe, cursor, _utc(w))
            while i < len(ticks) and ticks[i] <= w:
                i += 1
        if fresh:
            cycle_began = time.perf_counter()
            offsets: dict[int, float] = {}

            def written(tid: int, offsets: dict = offsets, t0: float = cycle_began) -> None:
                offsets[tid] = time.perf_counter() - t0

            w0 = w
            servers.set_as_of(w0, running=True)
            res = live_cycle(at_clock(settings, _utc(w0)), on_written=written, **cycle_kwargs)
            w = servers.now
            servers.set_as_of(w)
            out.cycles += 1
            out.tickets += len(res.new_tickets)
            out.cycle_wall_seconds.append(time.perf_counter() - cycle_began)
            for stage, seconds in res.timings.items():
                out.stage_seconds[stage] = out.stage_seconds.get(stage, 0.0) + seconds
            for tid, created in res.new_tickets.items():
                if tid in offsets:
                    out.delays[tid] = w0 + offsets[tid] - created.timestamp()
        out.agent_actions += agents.step(_utc(w))
        if on_cycle is not None and fresh:
            on_cycle(out, _utc(w))
    out.wall_seconds = time.perf_counter() - began
    return out
