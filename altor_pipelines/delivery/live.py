"""The live path as plain functions: new ticket -> note in seconds.

`live_cycle(settings)` runs one cycle at the pipeline's clock (`settings.as_of`, or now):

1. sync the help desk (tickets with their metric sets, comments, events, users,
   organizations: the cheap incremental resources) and, when `sync_others`, the other
   sources whose change mark moved (`sources_due`, sources/change_marks.py), in parallel
   threads (each dlt pipeline writes its own `raw_<source>` schema);
2. rebuild the staging of the sources synced (the others' raw tables did not change) and
   the account spine;
3. find new tickets: created at or after `since` (go-live), with no diagnosis yet;
4. investigate only those, at now (`investigation.build_investigation(ticket_ids, as_of)`),
   the platform-wide log inputs read from the warehouse's copy (`warehouse/log_cache.py`);
5. diagnose them (`diagnose_tickets`, the one adapter to the classifier);
6. write back (`writeback.deliver`, restricted to those tickets, plus every pending retry).

It returns what it did. The sensor (defs/delivery.py) runs it when `new_tickets_since` sees
new tickets; the simulation's live period (altor_sim/live.py) does the same as its clock advances.
A long-running loop calls `warm_up` once before it serves.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import dlt
import duckdb
import pyarrow  # noqa: F401 - imported before the sync threads start (import races in dlt)

from altor_pipelines.clock import as_of, naive_utc, parse_time
from altor_pipelines.delivery.playbook import Playbook, learn_playbook, save_playbook
from altor_pipelines.delivery.writeback import deliver, writeback_client
from altor_pipelines.delivery.writeback_plan import DeliveryResult, WritebackConfig
from altor_pipelines.delivery.writeback_send import send_pending
from altor_pipelines.errors import SourceError
from altor_pipelines.investigation.build import build_investigation
from altor_pipelines.ml.dataset import load_ticket_frame
from altor_pipelines.ml.registry import current_version, load_model, registry_root
from altor_pipelines.ml.serve import (
    diagnose,
    diagnose_frame,
    ensure_diagnoses_table,
    write_diagnoses,
)
from altor_pipelines.settings import Settings
from altor_pipelines.sources.change_marks import change_mark
from altor_pipelines.sources.sync import make_pipeline, make_source, sync
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import open_warehouse, sql_text, table_exists
from altor_pipelines.warehouse.log_cache import LogCache
from altor_pipelines.warehouse.sql_runner import discover, ordered, run_model, sql_parameters

log = logging.getLogger(__name__)

LIVE_ZENDESK_RESOURCES = ("tickets", "ticket_metrics", "ticket_comments", "ticket_events", "users",
                          "organizations")
OTHER_SOURCES = ("stripe", "linear", "github", "clickhouse")
Diagnoser = Callable[[duckdb.DuckDBPyConnection, Settings, list[int], datetime], int]


@dataclass
class LiveResult:
    now: datetime
    new_tickets: dict[int, datetime] = field(default_factory=dict)  # id -> created_at (UTC)
    investigated: list[int] = field(default_factory=list)
    synced: list[str] = field(default_factory=list)  # sources synced this cycle
    diagnosed: int = 0
    delivery: DeliveryResult = field(default_factory=DeliveryResult)
    timings: dict[str, float] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        return {
            "now": self.now.isoformat(),
            "new_tickets": len(self.new_tickets),
            "investigated": len(self.investigated),
            "synced": ",".join(self.synced),
            "diagnosed": self.diagnosed,
            **{f"delivery_{k}": v for k, v in self.delivery.as_dict().items()},
            **{f"seconds_{k}": round(v, 3) for k, v in self.timings.items()},
        }


class LivePipelines:
    """The sources' dlt pipelines for a long-running loop, each made once: making one reads
    its state and schemas from disk and resolves its configuration again (a help-desk sync
    that brings one ticket: ~0.69 s with a new pipeline, ~0.48 s with a kept one, on the demo
    world). Only for a loop that is the sole writer of these pipelines while it runs: a
    pipeline kept in memory does not see another process's runs."""

    def __init__(self) -> None:
        self._made: dict[tuple[str, str, str], dlt.Pipeline] = {}

    @property
    def sources(self) -> list[str]:
        """The sources whose pipelines are kept."""
        return sorted({name for name, _, _ in self._made})

    def __call__(self, name: str, settings: Settings) -> dlt.Pipeline:
        key = (name, str(settings.warehouse_path), str(settings.dlt_pipelines_dir))
        if key not in self._made:
            self._made[key] = make_pipeline(name, settings.warehouse_path,
                                            settings.dlt_pipelines_dir)
        return self._made[key]


def _pipeline(name: str, settings: Settings, pipelines: LivePipelines | None) -> dlt.Pipeline:
    if pipelines is not None:
        return pipelines(name, settings)
    return make_pipeline(name, settings.warehouse_path, settings.dlt_pipelines_dir)


def sync_helpdesk(settings: Settings, pipelines: LivePipelines | None = None) -> None:
    """The help desk's incremental resources (the metric sets come with the ticket export's
    pages); not the group and field lists, which the scheduled sync keeps fresh."""
    pipeline = _pipeline("zendesk", settings, pipelines)
    pipeline.run(make_source("zendesk", settings).with_resources(*LIVE_ZENDESK_RESOURCES))


def sync_sources(
    settings: Settings, names: tuple[str, ...] = OTHER_SOURCES, helpdesk: bool = True,
    pipelines: LivePipelines | None = None,
) -> None:
    """The help desk and `names` synced concurrently (one thread each); `pipelines`: a loop's
    kept pipelines (default: new ones)."""
    jobs: dict[str, Callable[[], Any]] = {
        n: (lambda n=n: sync(n, settings, count_rows=False,
                             pipeline=pipelines(n, settings) if pipelines else None))
        for n in names}
    if helpdesk:
        jobs["zendesk"] = lambda: sync_helpdesk(settings, pipelines)
    if len(jobs) == 1:
        next(iter(jobs.values()))()
        return
    with ThreadPoolExecutor(len(jobs)) as pool:
        futures = {n: pool.submit(f) for n, f in jobs.items()}
        for f in futures.values():
            f.result()


def sources_due(
    con: duckdb.DuckDBPyConnection, settings: Settings, names: tuple[str, ...], now: datetime
) -> dict[str, str | None]:
    """The sources among `names` a sync may bring something from, with their change marks
    (to record once synced): a source without a mark, whose mark differs from the one recorded
    at its last live sync, whose probe failed (the sync then says what is wrong), or whose last
    live sync is `settings.live_sync_max_age_minutes` old or older (0: every source). The
    probes run concurrently, each on its own cursor of the warehouse."""
    con.execute(sql_text("delivery/live_sync_marks_table.sql"))
    recorded = {source: (mark, synced_at) for source, mark, synced_at in
                con.execute(sql_text("delivery/live_sync_marks.sql")).fetchall()}
    max_age = timedelta(minutes=settings.live_sync_max_age_minutes)

    def probe(name: str, cursor: duckdb.DuckDBPyConnection) -> tuple[str | None, bool]:
        try:
            return change_mark(name, settings, cursor), True
        except Exception as exc:  # noqa: BLE001 - a failed probe never hides a source: sync it
            said = str(exc)[:300] if isinstance(exc, SourceError) else type(exc).__name__
            log.warning("change mark of %s failed, syncing it: %s", name, said)
            return None, False
        finally:
            cursor.close()

    with ThreadPoolExecutor(max(len(names), 1)) as pool:
        probes = {n: pool.submit(probe, n, con.cursor()) for n in names}
    due: dict[str, str | None] = {}
    for name, future in probes.items():
        mark, answered = future.result()
        last_mark, last_sync = recorded.get(name, (None, None))
        age = naive_utc(now) - last_sync if last_sync is not None else None
        stale = age is None or age >= max_age or age < timedelta(0)  # < 0: the clock went back
        if not answered or mark is None or mark != last_mark or stale:
            due[name] = mark
    return due


def record_sync_marks(con: duckdb.DuckDBPyConnection, marks: dict[str, str | None],
                      now: datetime) -> None:
    for source, mark in marks.items():
        con.execute(sql_text("delivery/record_sync_mark.sql"),
                    {"source": source, "mark": mark, "synced_at": naive_utc(now)})


def sync_due_sources(con: duckdb.DuckDBPyConnection, settings: Settings, now: datetime,
                     sync_others: bool = True, pipelines: LivePipelines | None = None
                     ) -> list[str]:
    """The help desk and the other sources due (`sources_due`) synced, their marks recorded;
    returns the sources synced."""
    due = sources_due(con, settings, OTHER_SOURCES if sync_others else (), now)
    sync_sources(settings, tuple(due), pipelines=pipelines)
    record_sync_marks(con, due, now)
    return ["zendesk", *due]


def warm_up(settings: Settings, pipelines: LivePipelines | None = None) -> dict[str, float]:
    """What a long-running loop does once, at the settings' clock, before it serves: the
    syncs and their marks, staging, and the warehouse's copy of the logs brought to the clock
    (`LogCache.warm`). Without it the first ticket's cycle pays for all three (after a batch:
    every source synced and 193 h of request minutes copied). Returns seconds per stage."""
    now = as_of(settings)
    timings: dict[str, float] = {}
    t = time.perf_counter()
    con = open_warehouse(settings)
    try:
        sync_due_sources(con, settings, now, pipelines=pipelines)
        timings["sync"] = time.perf_counter() - t
        t = time.perf_counter()
        rebuild_staging(con, settings)
        timings["staging"] = time.perf_counter() - t
        t = time.perf_counter()
        LogCache(ClickHouseAccess(settings)).warm(con, now)
        timings["log_cache"] = time.perf_counter() - t
    finally:
        con.close()
    return timings


def rebuild_staging(con: duckdb.DuckDBPyConnection, settings: Settings,
                    sources: Iterable[str] | None = None) -> None:
    """Staging and the account spine rebuilt from the raw tables. With `sources` (a cycle's
    synced sources), only the staging models that read those sources' raw tables, and any
    missing one: the others' inputs did not change in this cycle (another writer of them,
    a scheduled ingest, has its staging rebuilt by the automation sensor)."""
    params = sql_parameters(settings)
    models = discover(("staging",))
    if sources is not None:
        synced = set(sources)
        models = {t: m for t, m in models.items()
                  if m.sources_read() & synced or not table_exists(con, t)}
    for model in ordered(models):
        run_model(con, model, params)
    run_model(con, discover(("intermediate",))["intermediate.int_account_spine"], params)


def new_ticket_ids(
    con: duckdb.DuckDBPyConnection, since: datetime, now: datetime
) -> dict[int, datetime]:
    """Open tickets created in [since, now] that have no diagnosis yet."""
    ensure_diagnoses_table(con)
    rows = con.execute(sql_text("delivery/new_tickets.sql"),
                       {"since": naive_utc(since), "now": naive_utc(now)}).fetchall()
    return {int(t): c.replace(tzinfo=UTC) for t, c in rows}


def diagnose_tickets(
    con: duckdb.DuckDBPyConnection, settings: Settings, ticket_ids: list[int], now: datetime
) -> int:
    """THE adapter to the classifier: diagnose `ticket_ids` with the serving model (features
    just built for them) and write `diagnosis.diagnoses`; returns rows written."""
    frame = diagnose(con, registry_root(settings), ticket_ids=ticket_ids, now=naive_utc(now))
    return write_diagnoses(con, frame)


class ServedModelDiagnoser:
    """`diagnose_tickets` for a long-running loop: the served model is loaded once (loading it
    costs seconds; a live cycle diagnoses a handful of tickets) and loaded again only when the
    registry's pointer names another version."""

    __name__ = "served model (loaded once)"

    def __init__(self) -> None:
        self._loaded: Any = None
        self._pointer: str | None = None

    def __call__(self, con: duckdb.DuckDBPyConnection, settings: Settings,
                 ticket_ids: list[int], now: datetime) -> int:

        root = registry_root(settings)
        pointer = current_version(root)
        if self._loaded is None or pointer != self._pointer:
            self._loaded, self._pointer = load_model(root), pointer
        frame = load_ticket_frame(con, self._loaded.spec, ticket_ids)
        return write_diagnoses(con, diagnose_frame(self._loaded, frame, naive_utc(now)))


class LivePlaybook:
    """The recommended-reply playbook for a long-running loop: learned on the first cycle and
    again once `max_age` of the pipeline's clock has passed, instead of every cycle (~0.25 s
    on the demo world). Its templates come from the replies that solved past tickets at first
    contact, which change over days, not between two tickets."""

    def __init__(self, max_age: timedelta = timedelta(hours=6)) -> None:
        self.max_age = max_age
        self._book: Playbook | None = None
        self._learned_at = datetime.min.replace(tzinfo=UTC)

    def __call__(self, con: duckdb.DuckDBPyConnection, now: datetime) -> Playbook:
        if self._book is None or now - self._learned_at >= self.max_age:
            self._book = learn_playbook(con)
            save_playbook(con, self._book, naive_utc(now))
            self._learned_at = now
        return self._book


def live_cycle(
    settings: Settings,
    *,
    since: datetime | None = None,
    sync_others: bool = True,
    diagnoser: Diagnoser = diagnose_tickets,
    config: WritebackConfig | None = None,
    client: Any = None,
    on_written: Callable[[int], None] | None = None,
    playbook: LivePlaybook | None = None,
    pipelines: LivePipelines | None = None,
) -> LiveResult:
    """One cycle of the live path at the settings' clock. See the module docstring.
    `playbook`: a loop's cached playbook (default: learned again in this cycle); `pipelines`:
    a loop's kept dlt pipelines (default: made again in this cycle)."""
    now = as_of(settings)
    since = since or parse_time(settings.go_live) or now - timedelta(days=1)
    result = LiveResult(now)
    t = time.perf_counter()

    def lap(name: str) -> None:
        nonlocal t
        result.timings[name] = time.perf_counter() - t
        t = time.perf_counter()

    # opened before the sync and held through it: the sources' dlt connections then share
    # this open database instead of opening the file again (several times per source)
    con = open_warehouse(settings)
    try:
        result.synced = sync_due_sources(con, settings, now, sync_others, pipelines)
        lap("sync")
        rebuild_staging(con, settings, result.synced)
        lap("staging")
        result.new_tickets = new_ticket_ids(con, since, now)
        ids = sorted(result.new_tickets)
        if ids:
            access = ClickHouseAccess(settings)
            build_investigation(
                con,
                access,
                ticket_ids=ids,
                as_of=naive_utc(now),
                clickhouse_database=settings.clickhouse_database,
                # the platform-wide log inputs from the warehouse's copy, extended each cycle
                log_cache=LogCache(access),
            )
            result.investigated = ids
            lap("investigation")
            result.diagnosed = diagnoser(con, settings, ids, now)
            lap("diagnosis")
        cfg = dataclasses.replace(config or WritebackConfig(), ticket_ids=ids, since=since)
        client = client or writeback_client(settings, cfg)
        if ids:
            book = playbook(con, now) if playbook is not None else None
            result.delivery = deliver(con, client, cfg, as_of=now, playbook=book,
                                      on_written=on_written)
        else:  # nothing new: only retry what is pending
            result.delivery = send_pending(con, client, on_written=on_written)
        lap("writeback")
    finally:
        con.close()
    log.info("live cycle at %s: %s", now.isoformat(), result.summary())
    return result


EXPORT = "/api/v2/incremental/tickets/cursor"


def new_tickets_since(
    client: Any, cursor: dict[str, Any], now: datetime
) -> tuple[list[int], dict[str, Any]]:
    """The sensor's cheap probe: tickets created after the watermark in `cursor`
    (`{"export": <after_cursor>, "created": <unix>}`), read from the cursor-based export (one
    request from the cursor when nothing changed); returns their ids and the new cursor."""
    watermark = int(cursor.get("created") or (now - timedelta(minutes=10)).timestamp())
    params: dict[str, Any] = (
        {"cursor": cursor["export"]} if cursor.get("export") else {"start_time": watermark}
    )
    new: list[int] = []
    newest, after = watermark, cursor.get("export")
    while True:
        data, _ = client.get_json(EXPORT, endpoint=EXPORT, params={**params, "per_page": 1000})
        for t in data.get("tickets") or []:
            created = t.get("created_at")
            at = int(parse_time(str(created)).timestamp()) if created else 0
            if at > watermark and t.get("status") != "deleted":
                new.append(int(t["id"]))
                newest = max(newest, at)
        after = data.get("after_cursor") or after
        if data.get("end_of_stream", True) or not data.get("after_cursor"):
            break
        params = {"cursor": data["after_cursor"]}
    return sorted(new), {"export": after, "created": newest}
