"""Local HTTP servers that serve a world (altor-world/1) through the vendors' real wire formats.

    servers = start_servers(world_dir, as_of=None)      # ephemeral loopback ports
    servers.urls["stripe"], servers.tokens["stripe"]    # what a client needs
    servers.set_as_of("2026-06-02T00:00:00Z")           # move the clock while running
    servers.stop()                                      # or use it as a context manager

See docs/demo-servers.md for the decisions (ordering, cursors, auth answers).
"""

from __future__ import annotations

import json
import signal
import socket
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from altor_sim.servers.github import GitHubApp
from altor_sim.servers.http import VendorApp, VendorServer
from altor_sim.servers.linear import LinearApp
from altor_sim.servers.stripe import StripeApp
from altor_sim.servers.zendesk import ZendeskApp
from altor_sim.world.reader import World, parse_time, to_datetime

__all__ = ["DemoServers", "start_servers", "serve_forever", "TOKENS", "DEFAULT_PORTS"]

VENDORS = ("zendesk", "stripe", "linear", "github")
# Fixed demo tokens: not anybody's secrets; the servers accept exactly these.
TOKENS = {
    "zendesk": "demo-zendesk-token",
    "stripe": "sk_test_demo",
    "linear": "lin_api_demo",
    "github": "ghs_demo",
}
# The ports the settings' demo defaults point at (altor_pipelines/settings.py).
DEFAULT_PORTS = {"zendesk": 8701, "stripe": 8702, "linear": 8703, "github": 8704}


class DemoServers:
    """The four servers over one loaded world and one clock. See module docstring."""
    def __init__(
        self,
        world: World,
        as_of: str | datetime | None = None,
        host: str = "127.0.0.1",
        ports: dict[str, int] | None = None,
        state_dir: str | Path | None = None,
    ) -> None:

        self.world = world
        self.tokens = dict(TOKENS)
        self.requests: list[dict[str, Any]] = []
        self.writes: list[dict[str, Any]] = []
        self.state_dir = Path(state_dir) if state_dir else None
        self._lock = threading.Lock()
        self._failures: list[list[Any]] = []
        self._now = world.end if as_of is None else parse_time(as_of)
        self._running_since: float | None = None
        apps = {"zendesk": ZendeskApp, "stripe": StripeApp, "linear": LinearApp,
                "github": GitHubApp}
        self._servers = {}
        try:
            for vendor in VENDORS:
                app = apps[vendor](self)
                port = (ports or {}).get(vendor, 0)
                self._servers[vendor] = VendorServer(app, host, port)
        except BaseException:
            for s in self._servers.values():
                s.httpd.server_close()
            raise
        self.urls = {}
        for vendor, s in self._servers.items():
            base = f"http://{s.host}:{s.port}"
            self.urls[vendor] = base + "/graphql" if vendor == "linear" else base
        for s in self._servers.values():
            s.start()

    # -- the clock ------------------------------------------------------------------------------
    @property
    def now(self) -> float:
        if self._running_since is not None:  # a running clock: world time moves with wall time
            return self._now + (time.monotonic() - self._running_since)
        return self._now

    @property
    def as_of(self) -> datetime:
        return to_datetime(self._now)

    def set_as_of(self, t: str | datetime | int | float, *, running: bool = False) -> None:
        """Set the clock to `t`: stopped there, or (`running`) moving on from `t` with wall
        time, as it does while the pipeline processes (the demo's live weeks jump the clock
        between tickets, never while work is under way)."""
        self._now = parse_time(t)
        self._running_since = time.monotonic() if running else None

    # -- requests, failures, writes ---------------------------------------------------------
    def _record(self, req: Any) -> None:
        entry = {"vendor": req.vendor, "method": req.method, "path": req.path,
                 "query": req.query, "json": req.json, "at": datetime.now(UTC)}
        with self._lock:
            self.requests.append(entry)

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    def fail_next(self, vendor: str, path_prefix: str = "", status: int = 500,
                  times: int = 1) -> None:
        """Answer the next `times` requests to `vendor` whose path starts with `path_prefix`
        with `status` and the vendor's own error body (429 also carries Retry-After)."""
        if vendor not in VENDORS:
            raise ValueError(f"unknown vendor {vendor!r}")
        with self._lock:
            self._failures.append([vendor, path_prefix, status, times])

    def _take_failure(self, vendor: str, path: str) -> int | None:
        with self._lock:
            for f in self._failures:
                if f[0] == vendor and path.startswith(f[1]) and f[3] > 0:
                    f[3] -= 1
                    if f[3] == 0:
                        self._failures.remove(f)
                    return f[2]
        return None

    def _record_write(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self.writes.append(entry)
            if self.state_dir is not None:
                self.state_dir.mkdir(parents=True, exist_ok=True)
                with (self.state_dir / "writes.jsonl").open("a") as f:
                    f.write(json.dumps(entry, default=str) + "\n")

    # -- life cycle ---------------------------------------------------------------------------
    def describe(self) -> dict[str, Any]:
        """What `altor demo serve` prints: each vendor's base URL and token, and the clock."""
        out: dict[str, Any] = {v: {"base_url": self.urls[v], "token": self.tokens[v]}
                               for v in VENDORS}
        out["as_of"] = self.as_of.strftime("%Y-%m-%dT%H:%M:%SZ")
        return out

    def app(self, vendor: str) -> VendorApp:
        """The vendor's API, to change how it behaves (e.g. Stripe's `events_kept_seconds`)."""
        return self._servers[vendor].app

    def stop(self) -> None:
        for s in self._servers.values():
            s.stop()
        self._servers = {}

    def __enter__(self) -> DemoServers:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()


def start_servers(
    world_dir: str | Path | World,
    as_of: str | datetime | None = None,
    host: str = "127.0.0.1",
    ports: dict[str, int] | None = None,
    state_dir: str | Path | None = None,
) -> DemoServers:
    """Load the world (or take a loaded one) and start the four servers on `host`."""
    world = world_dir if isinstance(world_dir, World) else World.load(world_dir)
    return DemoServers(world, as_of=as_of, host=host, ports=ports, state_dir=state_dir)


def _free(host: str, port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
            return True
        except OSError:
            return False


def serve_forever(world: Path, as_of: str | None = None, host: str = "127.0.0.1",
                  ports: dict[str, int] | None = None,
                  state_dir: str | Path | None = None) -> None:
    """Run the servers in the foreground until SIGTERM or Ctrl-C. Prints one JSON line first.

    Ports default to the settings' demo defaults (8701–8704); a port already taken falls back
    to an ephemeral one (the printed line always tells the truth)."""
    wanted = ports or DEFAULT_PORTS
    chosen = {v: (p if _free(host, p) else 0) for v, p in wanted.items()}
    stop = threading.Event()

    def _on_signal(signum: int, frame: Any) -> None:
        stop.set()

    previous = {s: signal.signal(s, _on_signal) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        servers = start_servers(world, as_of=as_of, host=host, ports=chosen, state_dir=state_dir)
        try:
            sys.stdout.write(json.dumps(servers.describe()) + "\n")
            sys.stdout.flush()
            while not stop.wait(0.5):
                pass
        finally:
            servers.stop()
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
