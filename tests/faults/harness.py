"""The fault matrix's machinery (no tests here): a vendor served from the tiny world behind a
`FaultProxy`, a source run twice, and the warehouse compared with the world as of the clock.

`outcome()` counts, per case, the rows the world has that the warehouse lacks (lost) and the
rows the warehouse holds twice (duplicated); quarantined records are accounted for, not lost.
Every case records its figures in `MATRIX`; tests/faults/conftest.py puts them on the test
reports and tests/faults/matrix.py prints them at the end of the run.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from altor_pipelines.sources.github import github_source
from altor_pipelines.sources.linear import linear_source
from altor_pipelines.sources.stripe import stripe_source
from altor_pipelines.sources.zendesk import zendesk_source
from altor_sim.servers import start_servers
from altor_sim.servers.faults_proxy import Fault, FaultProxy
from tests.integration.test_source_support import (
    LONG_AGO,
    TINY_END,
    Runner,
    query,
    source_error_in,
    world_as_of,
)

PAGE = 1  # one record per page: every listing pages, so cursors and repeats are exercised
FAST = 0.01  # backoff seconds: retries in tests do not wait
TIMEOUT = 2.0  # client timeout; the `delay` fault waits longer than this

MATRIX: list[dict[str, Any]] = []

# (table, key column, world file, keep deleted rows) per source
TABLES: dict[str, list[tuple[str, str, str]]] = {
    "zendesk": [("tickets", "id", "tickets"), ("organizations", "id", "organizations"),
                ("users", "id", "users"), ("groups", "id", "groups"),
                ("ticket_fields", "id", "ticket_fields"),
                ("ticket_metrics", "id", "ticket_metrics"),
                ("ticket_comments", "id", "ticket_comments")],
    "stripe": [(n, "id", n) for n in ("customers", "products", "prices", "subscriptions",
                                      "invoices", "charges")],
    "linear": [("issues", "id", "issues"), ("teams", "id", "teams"),
               ("workflow_states", "id", "workflow_states"), ("labels", "id", "labels")],
    "github": [("deployments", "id", "deployments"),
               ("deployment_statuses", "id", "deployment_statuses"),
               ("releases", "id", "releases"), ("commits", "sha", "commits")],
}


def make_source(vendor: str, url: str, token: str) -> Any:
    if vendor == "zendesk":
        return zendesk_source(url, "agent@acme.test", token, LONG_AGO, page_size=PAGE,
                              backoff_seconds=FAST, timeout=TIMEOUT)
    if vendor == "stripe":
        return stripe_source(url, token, page_size=PAGE, backoff_seconds=FAST, timeout=TIMEOUT)
    if vendor == "linear":
        return linear_source(url, token, page_size=PAGE, backoff_seconds=FAST, timeout=TIMEOUT)
    return github_source(url, token, "acme/api", page_size=PAGE, backoff_seconds=FAST,
                         timeout=TIMEOUT)


def expected_ids(world: Path, vendor: str, at: str = TINY_END) -> dict[str, set]:
    out: dict[str, set] = {}
    for table, key, name in TABLES[vendor]:
        objs = world_as_of(world, vendor, name, at, key=key,
                           keep_deleted=(vendor, table) == ("zendesk", "tickets"))
        out[table] = set(objs)
    return out


def loaded_ids(warehouse: Path, vendor: str) -> dict[str, list]:
    """Each table's keys, sorted: a merge may rewrite rows in another order, and a
    repeated key still shows up twice."""
    out: dict[str, list] = {}
    for table, key, _ in TABLES[vendor]:
        where = ""
        if vendor == "stripe" and table in ("customers", "products", "prices"):
            where = " WHERE NOT coalesce(deleted, false)"
        out[table] = [r[0] for r in query(
            warehouse, f'SELECT "{key}" FROM raw_{vendor}."{table}"{where} ORDER BY 1')]
    return out


def quarantined(warehouse: Path, vendor: str) -> list[tuple]:
    try:
        return query(warehouse, f"SELECT endpoint, field, reason, record "
                                f"FROM raw_{vendor}._quarantine")
    except Exception:  # noqa: BLE001 - no table: nothing was quarantined
        return []


@dataclass
class Outcome:
    lost: int = 0
    duplicated: int = 0
    lost_ids: dict[str, set] = field(default_factory=dict)


def outcome(warehouse: Path, world: Path, vendor: str, excused: dict[str, set] | None = None
            ) -> Outcome:
    """Rows of the world missing from the warehouse (minus `excused`: quarantined ones) and
    rows held more than once."""
    want, got = expected_ids(world, vendor), loaded_ids(warehouse, vendor)
    out = Outcome()
    for table, ids in want.items():
        rows = got.get(table, [])
        missing = ids - set(rows) - (excused or {}).get(table, set())
        if missing:
            out.lost_ids[table] = missing
        out.lost += len(missing)
        out.duplicated += len(rows) - len(set(rows))
        out.duplicated += len(set(rows) - ids)  # rows the world does not have
    return out


@dataclass
class Served:
    servers: Any
    proxy: FaultProxy
    runner: Runner
    vendor: str

    @property
    def token(self) -> str:
        return self.servers.tokens[self.vendor]


@contextlib.contextmanager
def served(world: Path, tmp: Path, vendor: str, faults: list[Fault],
           as_of: str = TINY_END) -> Iterator[Served]:
    with start_servers(world, as_of=as_of) as servers:
        upstream = servers.urls[vendor]
        with FaultProxy(upstream, faults, vendor=vendor) as proxy:
            token = servers.tokens[vendor]
            runner = Runner(vendor, tmp, lambda: make_source(vendor, proxy.url, token))
            yield Served(servers, proxy, runner, vendor)


def record(case: str, vendor: str, survived: bool, result: Outcome, faults: int,
           notes_duplicated: int = 0) -> None:
    MATRIX.append({"case": case, "source": vendor, "survived": survived,
                   "rows_lost": result.lost, "rows_duplicated": result.duplicated,
                   "notes_duplicated": notes_duplicated, "faults_injected": faults})


def run_expecting_error(run: Callable[[], Any], token: str) -> BaseException:
    """Runs `run`, which must fail with a SourceError that names its endpoint and never shows
    the token; returns that error."""
    try:
        run()
    except Exception as exc:  # noqa: BLE001 - checked below
        err = source_error_in(exc)
        assert err is not None, f"not a SourceError: {exc!r}"
        assert err.endpoint, str(err)
        assert token not in str(exc) and token not in repr(exc)
        return err
    raise AssertionError("the run should have stopped with a SourceError")


class LogCapture(logging.Handler):
    """Every log record of the run, formatted (tests grep them for tokens)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, rec: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(rec))
        except Exception:  # noqa: BLE001
            self.lines.append(str(rec.msg))
