"""The investigation pushed down to ClickHouse (warehouse/pushdown.py: per-ticket queries, a few
rows back per ticket), on a small generated world served through the vendors' APIs: it reads
the logs it needs and brings back little, and the same queries through a ClickHouse server
(host/port, the HTTP double) give the same rows as on chDB in-process. The feature values
themselves are checked by hand in tests/unit/test_features.py."""

from __future__ import annotations

import dataclasses
import math
import shutil
from typing import Any

import duckdb
import pytest

from altor_pipelines.investigation.build import build_investigation
from altor_pipelines.settings import Secret, Settings
from altor_pipelines.sources.clickhouse_logs import raw_log_size
from altor_pipelines.sources.sync import SOURCE_TABLES, sync
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import SQL_DIR, connect, scratch_over
from altor_pipelines.warehouse.log_cache import LogCache
from altor_pipelines.warehouse.pushdown import PUSHDOWN_DIR, PushdownStats, run_pushdown
from altor_pipelines.warehouse.sql_runner import run_models, sql_parameters
from altor_sim.clickhouse.http_double import ClickHouseHttpFront
from altor_sim.clickhouse.loader import load_request_logs
from altor_sim.environment import patched_environ, served_world_environment
from altor_sim.servers import start_servers
from altor_sim.world.generator import WorldParams, generate_world

LAYERS = ("staging", "intermediate", "features", "heuristics")


def same(a: Any, b: Any) -> bool:
    """Equal, floats up to the last bits (sums taken in another order). A window's latency sum
    is a difference of two running totals over the scanned range (~1e9 ms x requests), whose
    order of summation follows ClickHouse's threads, so two batches can differ by more than
    1e-9 in absolute terms where the window is near zero (a clean-clone CI run failed on
    abs_tol=1e-9; the same test passed when run again). A thousandth of a millisecond-request
    is far below anything a feature reads."""
    if isinstance(a, float) and isinstance(b, (float, int)) or isinstance(b, float) and \
            isinstance(a, (float, int)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-3)
    return a == b


@pytest.fixture(scope="module")
def investigated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("pushdown")
    world = root / "world"
    generate_world(world, WorldParams(customers=8, days=20, tickets_per_week=120,
                                      requests_per_minute=40.0))
    with start_servers(world) as servers, \
            patched_environ(served_world_environment(servers, world, root / "data")):
        settings = Settings.from_env()
        access = ClickHouseAccess(settings)
        load_request_logs(access, world, settings.clickhouse_database)
        for source in SOURCE_TABLES:
            sync(source, settings)
        stats = PushdownStats()
        con = connect(settings.warehouse_path)
        run_models(con, LAYERS, sql_parameters(settings), clickhouse=access, stats=stats)
        con.close()
        with access.client() as client:
            raw = raw_log_size(client, settings.clickhouse_database)
        pushed = scratch_over(settings.warehouse_path,
                              schemas=("intermediate", "features", "heuristics", "logs"))
        yield {"pushed": pushed, "stats": stats, "settings": settings, "raw": raw}
        pushed.close()


def test_the_investigation_reads_the_logs_it_needs_and_brings_back_little(investigated) -> None:
    con = investigated["pushed"]
    # the log-derived features are not empty: they did see traffic, errors and onsets
    seen = con.execute("""SELECT count(*) FILTER (WHERE org_requests_24h > 0),
        count(*) FILTER (WHERE error_onset_at IS NOT NULL),
        count(*) FILTER (WHERE deployment_id IS NOT NULL),
        count(*) FILTER (WHERE len(text_error_codes) > 0) FROM features.fct_ticket_features"""
                       ).fetchall()[0]
    assert all(n > 0 for n in seen), seen
    # one query per pushed-down model (the world fits one batch), a few rows per ticket
    summary = investigated["stats"].summary()
    tickets = con.execute("SELECT count(*) FROM features.fct_ticket_features").fetchall()[0][0]
    assert summary["ticket_windows"]["rows"] <= 8 * tickets
    # under 1% of the raw logs' column data (a wholesale copy would move all of it)
    moved = sum(s["bytes"] for s in summary.values())
    assert moved < investigated["raw"]["uncompressed_bytes"] / 100


def test_the_same_queries_through_a_server_give_the_same_rows(investigated) -> None:
    settings = investigated["settings"]
    pushed = investigated["pushed"]
    with ClickHouseHttpFront(settings.chdb_path, users={"altor": "secret-pw"}) as front:
        server = ClickHouseAccess(dataclasses.replace(
            settings, clickhouse_host="127.0.0.1", clickhouse_port=front.port,
            clickhouse_user="altor", clickhouse_password=Secret("secret-pw")))
        con = duckdb.connect()
        con.execute("CREATE SCHEMA intermediate")
        con.register("t", pushed.sql("SELECT * FROM intermediate.int_ticket_investigations"
                                     ).to_arrow_table())
        con.execute("CREATE TABLE intermediate.int_ticket_investigations AS SELECT * FROM t")
        listing = (SQL_DIR / PUSHDOWN_DIR / "ticket_windows.sql").read_text()
        rows = run_pushdown(con, server, "ticket_windows", listing, batch=50)
    assert rows == pushed.execute("SELECT count(*) FROM logs.ticket_windows").fetchall()[0][0]
    order = "ORDER BY ticket_id, scope, win"
    a = con.execute(f"SELECT * FROM logs.ticket_windows {order}").fetchall()
    b = pushed.execute(f"SELECT * FROM logs.ticket_windows {order}").fetchall()
    assert len(a) == len(b)
    assert all(same(x, y) for ra, rb in zip(a, b, strict=True) for x, y in zip(ra, rb, strict=True))


def test_live_tickets_from_the_log_copy_get_the_batch_rows(investigated, tmp_path) -> None:
    """The live path (a few tickets at a time, `LogCache`: the platform-wide log models from the
    warehouse's copy of the request minutes) gives every ticket the rows the batch gave it, in
    every investigation table; latency sums up to their last bits."""
    settings, pushed = investigated["settings"], investigated["pushed"]
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(settings.warehouse_path, copy)
    con = connect(copy)
    tables = [f"{s}.{t}" for s, t in con.execute(
        "SELECT table_schema, table_name FROM information_schema.columns WHERE column_name = "
        "'ticket_id' AND table_schema IN ('features', 'heuristics', 'logs') ORDER BY ALL"
    ).fetchall()]
    tickets = con.execute(
        "SELECT ticket_id, created_at FROM intermediate.int_ticket_investigations "
        "WHERE ticket_id % 7 = 0 ORDER BY created_at DESC LIMIT 12").fetchall()
    seen = pushed.execute(
        "SELECT count(*) FILTER (WHERE org_requests_24h > 0), "
        "count(*) FILTER (WHERE other_active_orgs_1h > 0), count(*) FILTER (WHERE org_p95_ms_1h "
        "> 0) FROM features.fct_ticket_features WHERE list_contains(?, ticket_id)",
        [[t for t, _ in tickets]]).fetchall()[0]
    assert all(n > 0 for n in seen), seen  # traffic, other customers, latencies to compare
    access = ClickHouseAccess(settings)
    # the latest first (the copy then holds minutes after the others' times), then in order
    for tid, created in tickets[:1] + tickets[:0:-1]:
        stats = PushdownStats()
        build_investigation(con, access, ticket_ids=[tid], as_of=created,
                            clickhouse_database=settings.clickhouse_database,
                            log_cache=LogCache(access, stats=stats))
        assert "ticket_windows" not in {q.name for q in stats.queries}
        for table in tables:
            query = f"SELECT * FROM {table} WHERE ticket_id = ? ORDER BY ALL"
            got, want = con.execute(query, [tid]).fetchall(), \
                pushed.execute(query, [tid]).fetchall()
            assert len(got) == len(want), (table, tid)
            assert all(same(x, y) for a, b in zip(got, want, strict=True)
                       for x, y in zip(a, b, strict=True)), (table, tid, got, want)
    con.close()
