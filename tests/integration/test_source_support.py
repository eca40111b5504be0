"""Shared helpers for the source integration tests (no tests here): the world read directly
from its files with the as-of rule, pipelines on a temp warehouse, request counting."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from altor_pipelines.sources.sync import make_pipeline
from altor_sim.servers import start_servers

TINY_MID = "2026-06-01T14:00:00Z"
TINY_END = "2026-06-03T00:00:00Z"
LONG_AGO = datetime(2025, 1, 1, tzinfo=UTC)


def ts(s: str) -> float:
    return datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()


def world_as_of(world: Path, vendor: str, name: str, at: str, key: str = "id",
                keep_deleted: bool = False) -> dict[Any, dict]:
    """{id: object} of `vendor/name.jsonl` as of `at`: each object's latest version with
    `at` ≤ T; deleted ones dropped (or kept as {"deleted": True} with keep_deleted)."""
    t = ts(at)
    latest: dict[Any, tuple[float, int, dict, bool]] = {}
    path = world / vendor / f"{name}.jsonl"
    for n, line in enumerate(path.read_text().splitlines()):
        if not line.strip():
            continue
        row = json.loads(line)
        v_at = ts(row["at"])
        if v_at > t:
            continue
        oid = row["object"][key]
        if oid not in latest or (v_at, n) >= latest[oid][:2]:
            latest[oid] = (v_at, n, row["object"], bool(row.get("deleted")))
    return {oid: ({**obj, "deleted": True} if deleted else obj)
            for oid, (_, _, obj, deleted) in latest.items() if keep_deleted or not deleted}


def n_versions(world: Path, vendor: str, name: str, at: str) -> int:
    t = ts(at)
    return sum(1 for line in (world / vendor / f"{name}.jsonl").read_text().splitlines()
               if line.strip() and ts(json.loads(line)["at"]) <= t)


def query(warehouse: Path, sql: str, params: Any = None) -> list[tuple]:
    con = duckdb.connect(str(warehouse))
    try:
        return con.execute(sql, params).fetchall()
    finally:
        con.close()


def count(warehouse: Path, table: str) -> int:
    return query(warehouse, f"SELECT count(*) FROM {table}")[0][0]


def table_counts(warehouse: Path, schema: str) -> dict[str, int]:
    names = [r[0] for r in query(
        warehouse, "SELECT table_name FROM information_schema.tables WHERE table_schema = ? "
                   "AND table_name NOT LIKE '_dlt%'", [schema])]
    return {n: count(warehouse, f'{schema}."{n}"') for n in names}


def pages_by_path(servers_or_requests: Any, vendor: str) -> Counter:
    """Requests per path to `vendor` (of the servers, or of a list of recorded requests)."""
    requests = getattr(servers_or_requests, "requests", servers_or_requests)
    return Counter(r["path"] for r in requests if r["vendor"] == vendor)


def pages(n_items: int, page_size: int) -> int:
    return max(1, math.ceil(n_items / page_size))


class Runner:
    """One source's pipeline on a temp warehouse; `run()` builds a fresh source each time."""

    def __init__(self, name: str, tmp: Path, make_source: Callable[[], Any]) -> None:
        self.name, self.tmp, self.make_source = name, tmp, make_source
        self.warehouse = tmp / "warehouse.duckdb"
        self.pipelines_dir = tmp / "dlt"

    def run(self, pipelines_dir: Path | None = None) -> Any:
        pipeline = make_pipeline(self.name, self.warehouse, pipelines_dir or self.pipelines_dir)
        return pipeline.run(self.make_source())

    def state(self, resource: str, pipelines_dir: Path | None = None) -> dict:
        pipeline = make_pipeline(self.name, self.warehouse, pipelines_dir or self.pipelines_dir)
        return pipeline.state["sources"][self.name]["resources"].get(resource, {})


def load_at(world: Path, tmp: Path, make_runner: Callable[[Any, Path], Runner], clock: str
            ) -> Path:
    """One run of the source against the world served as of `clock`; returns the warehouse."""
    with start_servers(world, as_of=clock) as servers:
        make_runner(servers, tmp).run()
    return tmp / "warehouse.duckdb"


def rerun_at_end(world: Path, tmp: Path, make_runner: Callable[[Any, Path], Runner],
                 schema: str) -> tuple[Runner, list[dict]]:
    """Run the source twice against the world's end state; the second run adds no row.
    Returns the runner and the requests of the second run."""
    with start_servers(world, as_of=TINY_END) as servers:
        r = make_runner(servers, tmp)
        r.run()
        before = table_counts(r.warehouse, schema)
        servers.clear_requests()
        r.run()
        requests = list(servers.requests)
    assert table_counts(r.warehouse, schema) == before
    return r, requests


@contextmanager
def advanced(world: Path, tmp: Path, make_runner: Callable[[Any, Path], Runner], first: str,
             then: str = TINY_END) -> Iterator[tuple[Runner, Any]]:
    """The source run once against the world as of `first`, then the servers' clock moved to
    `then` and their request log cleared; yields the runner and the servers for the next run."""
    with start_servers(world, as_of=first) as servers:
        r = make_runner(servers, tmp)
        r.run()
        servers.set_as_of(then)
        servers.clear_requests()
        yield r, servers


def failing_run(r: Runner, servers: Any) -> BaseException:
    """Run the source once more, expecting the failure the servers were told to inject; returns
    the SourceError it raised (after checking there is one and it shows no token)."""
    with pytest.raises(Exception) as info:
        r.run()
    err = source_error_in(info.value)
    assert err is not None, info.value
    assert not any(token in str(info.value) for token in servers.tokens.values())
    return err


def run_through_failures(world: Path, tmp: Path, make_runner: Callable[[Any, Path], Runner],
                         vendor: str, *failures: tuple[str, int, int]) -> Counter:
    """One run of the source against the world's end while `vendor` first answers each
    (path, status, times) with that failure; returns the requests per path."""
    with start_servers(world, as_of=TINY_END) as servers:
        for path, status, times in failures:
            servers.fail_next(vendor, path, status=status, times=times)
        make_runner(servers, tmp).run()
        return pages_by_path(servers, vendor)


@contextmanager
def killed_run(world: Path, tmp: Path, make_runner: Callable[[Any, Path], Runner], first: str,
               vendor: str, path: str, status: int) -> Iterator[tuple[BaseException, Runner]]:
    """The source run once as of `first`; then, the clock at the end, a run killed by a
    `status` answer from `vendor`'s `path`: yields its SourceError and the runner (to check what
    the warehouse holds after the failure), then runs the source again."""
    with advanced(world, tmp, make_runner, first) as (r, servers):
        servers.fail_next(vendor, path, status=status)
        yield failing_run(r, servers), r
        r.run()


def source_error_in(exc: BaseException) -> BaseException | None:
    """The SourceError a dlt step failure wraps (dlt re-raises extraction errors)."""
    from altor_pipelines.errors import SourceError

    seen = exc
    while seen is not None:
        if isinstance(seen, SourceError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None
