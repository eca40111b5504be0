"""The investigation pushed down to ClickHouse (warehouse/pushdown.py: per-ticket queries, a few
rows back per ticket) gives the same per-ticket features and rule scores as the minute-grain copy
of the logs it replaced (the SQL before the push-down, kept in tests/fixtures/minute_grain_sql/),
on a small generated world served through the vendors' APIs. Floats may differ in the last bits
(sums taken in another order); everything else must be equal. Also: the same queries through a
ClickHouse server (host/port) give the same rows as on chDB."""

from __future__ import annotations

import dataclasses
import math
import shutil
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from altor_pipelines.settings import Secret, Settings
from altor_pipelines.sources.sync import SOURCE_TABLES, sync
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import SQL_DIR, connect, scratch_over
from altor_pipelines.warehouse.pushdown import PUSHDOWN_DIR, PushdownStats, run_pushdown
from altor_pipelines.warehouse.sql_runner import run_models, sql_parameters
from altor_sim.clickhouse.http_double import ClickHouseHttpFront
from altor_sim.clickhouse.loader import load_request_logs
from altor_sim.environment import patched_environ, served_world_environment
from altor_sim.servers import start_servers
from altor_sim.world.generator import WorldParams, generate_world

REFERENCE = Path(__file__).resolve().parents[1] / "fixtures" / "minute_grain_sql"
LAYERS = ("staging", "intermediate", "features", "heuristics")
EVERYTHING = {"start": datetime(2000, 1, 1, tzinfo=UTC), "end": datetime(2100, 1, 1, tzinfo=UTC)}
COMPARED = {"features.fct_ticket_features": ("ticket_id",),
            "heuristics.rule_scores": ("ticket_id",),
            "features.ticket_endpoint_excess": ("ticket_id", "excess_rank")}


def reference_sql_dir(root: Path) -> Path:
    """`sql/` with the minute-grain models laid over it and no pushed-down model."""
    out = root / "sql"
    shutil.copytree(SQL_DIR, out)
    shutil.rmtree(out / PUSHDOWN_DIR)
    for path in REFERENCE.rglob("*.sql"):
        if path.parent.name != "clickhouse":
            shutil.copy(path, out / path.relative_to(REFERENCE))
    return out


def rows_by_key(con: duckdb.DuckDBPyConnection, table: str, key: tuple[str, ...]
                ) -> tuple[list[str], dict[tuple, tuple]]:
    cursor = con.execute(f"SELECT * FROM {table}")
    columns = [d[0] for d in cursor.description]
    at = [columns.index(k) for k in key]
    return columns, {tuple(r[i] for i in at): r for r in cursor.fetchall()}


def same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, (float, int)) or isinstance(b, float) and \
            isinstance(a, (float, int)):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
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
        params = sql_parameters(settings)
        stats = PushdownStats()
        con = connect(settings.warehouse_path)
        run_models(con, LAYERS, params, clickhouse=access, stats=stats)
        con.close()

        # The old way: the minute grain copied out of ClickHouse, the features built from it.
        with access.client() as client:
            payload = client.raw_query(
                (REFERENCE / "clickhouse" / "request_minutes.sql").read_text(),
                parameters={"database": settings.clickhouse_database, **EVERYTHING},
                fmt="ArrowStream")
        minutes = pa.ipc.open_stream(payload).read_all()
        reader = connect(settings.warehouse_path, read_only=True)
        raw = reader.execute("SELECT DISTINCT schema_name FROM duckdb_tables() "
                             "WHERE schema_name LIKE 'raw_%'").fetchall()
        reader.close()
        ref = scratch_over(settings.warehouse_path, schemas=tuple(s for (s,) in raw), tables=())
        ref.register("minutes", minutes)
        ref.execute("CREATE TABLE raw_clickhouse.request_minutes AS SELECT * FROM minutes")
        run_models(ref, LAYERS, params, sql_dir=reference_sql_dir(root))
        pushed = scratch_over(settings.warehouse_path,
                              schemas=("intermediate", "features", "heuristics", "logs"))
        yield {"pushed": pushed, "reference": ref, "stats": stats, "settings": settings,
               "minutes_bytes": len(payload), "root": root}
        pushed.close()
        ref.close()


@pytest.mark.parametrize("table", sorted(COMPARED))
def test_pushed_down_features_equal_the_minute_grain_ones(investigated, table) -> None:
    key = COMPARED[table]
    columns, pushed = rows_by_key(investigated["pushed"], table, key)
    ref_columns, reference = rows_by_key(investigated["reference"], table, key)
    assert columns == ref_columns
    assert len(pushed) > 50 and pushed.keys() == reference.keys()
    differing = {}
    for k, row in pushed.items():
        for column, a, b in zip(columns, row, reference[k], strict=True):
            if not same(a, b):
                differing.setdefault(column, []).append((k, a, b))
    assert not differing, {c: (len(v), v[:3]) for c, v in differing.items()}


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
    assert sum(s["bytes"] for s in summary.values()) < investigated["minutes_bytes"] / 5


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
