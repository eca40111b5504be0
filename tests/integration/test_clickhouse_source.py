"""The clickhouse_logs dlt source on chDB (temp dir) into DuckDB (temp file): org × hour
aggregates only, closed windows, whole-window re-reads, late rows, failure mid-run, staging SQL,
and the same source through a host/port setting (the loopback HTTP front)."""

from __future__ import annotations

import dataclasses
import os
from datetime import UTC, datetime
from pathlib import Path

import dlt
import duckdb
import pyarrow as pa
import pytest

from altor_pipelines.settings import Secret, Settings
from altor_pipelines.sources.clickhouse_logs import (
    ClickHouseSyncStats,
    clickhouse_logs_source,
    raw_log_size,
)
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.sql_runner import discover, run_model
from altor_sim.clickhouse.http_double import ClickHouseHttpFront
from altor_sim.clickhouse.loader import REQUEST_SCHEMA, load_request_logs
from tests.fixtures.tiny_world import build_tiny_world

os.environ["RUNTIME__DLTHUB_TELEMETRY"] = "false"

KEY = "org_id, hour"


def at(hhmm: str) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 6, 1, h, m, tzinfo=UTC)


@pytest.fixture(scope="module")
def chdb_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ch_source") / "chdb"


@pytest.fixture
def logs(chdb_dir: Path, tmp_path: Path, request: pytest.FixtureRequest) -> ClickHouseAccess:
    """A fresh database per test holding the tiny world's request logs."""
    database = f"src_{request.node.name[5:40]}".replace("[", "_").replace("]", "_")
    settings = dataclasses.replace(Settings.from_env(), clickhouse_host="", chdb_path=chdb_dir,
                                   clickhouse_database=database)
    access = ClickHouseAccess(settings)
    assert load_request_logs(access, build_tiny_world(tmp_path / "world"), database) == 720
    yield access
    with access.client() as c:
        c.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": database})


_WAREHOUSES: dict[int, str] = {}


def make_pipeline(tmp_path: Path, name: str = "wh"):
    path = str(tmp_path / f"{name}.duckdb")
    pipeline = dlt.pipeline(pipeline_name="clickhouse_logs",
                            destination=dlt.destinations.duckdb(path),
                            dataset_name="raw_clickhouse",
                            pipelines_dir=str(tmp_path / f"dlt_{name}"))
    _WAREHOUSES[id(pipeline)] = path
    return pipeline


def run(pipeline, access, until, stats=None, **kw) -> ClickHouseSyncStats:
    stats = stats if stats is not None else ClickHouseSyncStats()
    pipeline.run(clickhouse_logs_source(access, until=until, stats=stats, **kw))
    return stats


def warehouse(pipeline, sql: str) -> list[tuple]:
    with duckdb.connect(_WAREHOUSES[id(pipeline)], read_only=True) as con:
        return con.execute(sql).fetchall()


def ch(access: ClickHouseAccess, sql: str, **params) -> list[tuple]:
    with access.client() as c:
        return c.query(sql, parameters={"db": access.database, **params}).result_rows


def hours_in_ch(access, end: datetime) -> list[tuple]:
    """The aggregates computed independently in ClickHouse."""
    return ch(access, """
        SELECT org_id, toStartOfHour(ts) AS h, count(), countIf(status = 429),
               toStartOfMinute(min(ts)), toStartOfMinute(max(ts))
        FROM {db:Identifier}.requests WHERE ts < {end:DateTime64(3, 'UTC')}
        GROUP BY org_id, h ORDER BY ALL""", end=end)


def hours_in_warehouse(pipeline) -> list[tuple]:
    return warehouse(pipeline, """
        SELECT org_id, timezone('UTC', hour)::TIMESTAMP, requests, n_429,
               timezone('UTC', first_minute)::TIMESTAMP, timezone('UTC', last_minute)::TIMESTAMP
        FROM raw_clickhouse.org_hours ORDER BY ALL""")


def normalise(rows):
    return [tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in r)
            for r in rows]


def test_full_run_loads_exactly_the_aggregates_of_closed_windows(logs, tmp_path):
    p = make_pipeline(tmp_path)
    stats = run(p, logs, until=at("16:07"))
    # Only windows ending at or before 16:07 are loaded: [08:00, 16:00).
    assert stats.bounds("org_hours") == [(at("08:00"), at("16:00"))]
    assert warehouse(p, "SELECT sum(requests), count(*) FROM raw_clickhouse.org_hours") \
        == [(96 * 6, 3 * 8)]
    assert ch(logs, "SELECT count() FROM {db:Identifier}.requests WHERE ts < "
                    "{end:DateTime64(3, 'UTC')}", end=at("16:00")) == [(96 * 6,)]
    assert hours_in_warehouse(p) == normalise(hours_in_ch(logs, at("16:00")))
    assert warehouse(p, f"SELECT count(*) - count(DISTINCT ({KEY})) "
                        "FROM raw_clickhouse.org_hours") == [(0,)]
    # Only aggregates came back, and the run says how much: a row per org and hour.
    assert stats.rows("org_hours") == 3 * 8
    assert stats.bytes() > 0
    state = p.state["sources"]["clickhouse_logs"]["resources"]["org_hours"]
    assert state["closed_until"] == at("16:00").isoformat()
    assert state["last_run"]["rows"] == 3 * 8
    with logs.client() as c:
        assert raw_log_size(c, logs.database)["rows"] == 720


def test_windows_must_be_whole_hours(logs):
    with pytest.raises(ValueError, match="whole hours"):
        clickhouse_logs_source(logs, until=at("16:00"), window_minutes=30)


def test_second_run_with_the_same_clock_adds_nothing_and_only_rereads_the_last_hours(
        logs, tmp_path):
    p = make_pipeline(tmp_path)
    run(p, logs, until=at("16:07"))
    before = hours_in_warehouse(p)
    stats = run(p, logs, until=at("16:07"))
    # the older loaded hours are audited (one count per hour), nothing changed there; the last
    # 3 hours are re-read whole
    assert [(q.resource, q.kind, q.start, q.end) for q in stats.queries] == [
        ("org_hours", "audit", at("08:00"), at("13:00")),
        ("org_hours", "overlap", at("13:00"), at("16:00"))]
    assert stats.of("org_hours", "audit")[0].rows == 5  # one row per hour
    assert hours_in_warehouse(p) == before == normalise(hours_in_ch(logs, at("16:00")))


def test_advancing_the_clock_loads_only_new_windows_and_picks_up_late_rows(logs, tmp_path):
    p = make_pipeline(tmp_path)
    run(p, logs, until=at("16:07"))
    # Late rows: one inside the re-read hours (15:57), one before them (12:01, audited).
    late = pa.Table.from_pylist([
        {"ts": at("15:57"), "org_id": "org_2", "api_key_id": "key_2", "endpoint": "/v1/charges",
         "method": "POST", "status": 429, "error_code": "rate_limited", "latency_ms": 30.0,
         "region": "us-east-1", "service": "charges", "request_id": "late_1"},
        {"ts": at("12:01"), "org_id": "org_3", "api_key_id": "key_3", "endpoint": "/v1/charges",
         "method": "POST", "status": 429, "error_code": "rate_limited", "latency_ms": 30.0,
         "region": "us-east-1", "service": "charges", "request_id": "late_2"},
    ], schema=REQUEST_SCHEMA)
    with logs.client() as c:
        c.insert_arrow(f"{logs.database}.requests", late)
    stats = run(p, logs, until=at("18:00"))
    assert stats.bounds("org_hours") == [
        (at("08:00"), at("13:00")),  # audit: the 12:00 count changed
        (at("12:00"), at("13:00")),  # that hour read again
        (at("13:00"), at("16:00")),  # the last 3 hours re-read
        (at("16:00"), at("18:00"))]
    assert stats.bounds("org_hours", "late") == [(at("12:00"), at("13:00"))]
    assert stats.bounds("org_hours", "window") == [(at("16:00"), at("18:00"))]
    got = warehouse(p, """SELECT org_id, timezone('UTC', hour)::TIMESTAMP, n_429
        FROM raw_clickhouse.org_hours WHERE n_429 > 0 ORDER BY ALL""")
    assert got == [("org_2", datetime(2026, 6, 1, 15), 1), ("org_3", datetime(2026, 6, 1, 12), 1)]
    assert warehouse(p, "SELECT sum(requests) FROM raw_clickhouse.org_hours") == [(720 + 2,)]
    assert hours_in_warehouse(p) == normalise(hours_in_ch(logs, at("18:00")))


def test_a_run_failing_mid_way_then_rerun_loses_and_duplicates_nothing(logs, tmp_path):
    p = make_pipeline(tmp_path)
    run(p, logs, until=at("12:00"), windows_per_query=1)
    calls = []

    def fail_on_second_new_window(resource, kind, start, end):
        if resource == "org_hours" and kind == "window":
            calls.append(start)
            if len(calls) == 2:
                raise RuntimeError("ClickHouse went away")

    with pytest.raises(Exception, match="ClickHouse went away"):
        run(p, logs, until=at("18:00"), windows_per_query=1,
            before_query=fail_on_second_new_window)
    assert calls == [at("12:00"), at("13:00")]
    # Nothing of the failed run was committed: data and cursor are those of the first run.
    assert warehouse(p, "SELECT max(hour) < TIMESTAMPTZ '2026-06-01 12:00:00+00' "
                        "FROM raw_clickhouse.org_hours") == [(True,)]
    stats = run(p, logs, until=at("18:00"), windows_per_query=1)
    assert stats.bounds("org_hours", "window")[0] == (at("12:00"), at("13:00"))
    assert hours_in_warehouse(p) == normalise(hours_in_ch(logs, at("18:00")))
    assert warehouse(p, f"SELECT count(*) - count(DISTINCT ({KEY})), sum(requests) "
                        "FROM raw_clickhouse.org_hours") == [(0, 720)]


def test_staging_model_gives_the_contract_columns_and_values(logs, tmp_path):
    p = make_pipeline(tmp_path)
    run(p, logs, until=at("18:00"))
    models = discover(["staging"])
    with duckdb.connect(_WAREHOUSES[id(p)]) as con:
        con.execute("SET TimeZone = 'America/New_York'")  # staging must not depend on it
        run_model(con, models["staging.stg_clickhouse__org_hours"])
        columns = con.execute("DESCRIBE staging.stg_clickhouse__org_hours").fetchall()
        rows = con.execute("""SELECT * FROM staging.stg_clickhouse__org_hours
            WHERE org_id = 'org_1' AND hour = TIMESTAMP '2026-06-01 10:00:00'""").fetchall()
        totals = con.execute("SELECT sum(requests), count(*) FROM staging.stg_clickhouse__org_hours"
                             ).fetchall()
    assert [(c[0], c[1]) for c in columns] == [
        ("org_id", "VARCHAR"), ("hour", "TIMESTAMP"), ("requests", "BIGINT"), ("n_429", "BIGINT"),
        ("first_minute", "TIMESTAMP"), ("last_minute", "TIMESTAMP")]
    expected = normalise([r for r in hours_in_ch(logs, at("18:00"))
                          if r[0] == "org_1" and r[1].hour == 10])
    assert rows == expected and len(rows) == 1
    assert totals == [(720, 3 * 10)]


def test_the_same_source_runs_unchanged_through_a_host_port_setting(logs, tmp_path):
    local = make_pipeline(tmp_path, "local")
    local_stats = run(local, logs, until=at("18:00"))
    with ClickHouseHttpFront(logs.settings.chdb_path, users={"reader": "pw"}) as front:
        settings = dataclasses.replace(logs.settings, clickhouse_host="127.0.0.1",
                                       clickhouse_port=front.port, clickhouse_user="reader",
                                       clickhouse_password=Secret("pw"))
        remote = make_pipeline(tmp_path, "remote")
        remote_stats = run(remote, ClickHouseAccess(settings), until=at("18:00"))
        assert any("{start:DateTime64(3, 'UTC')}" in r.query for r in front.received)
    assert hours_in_warehouse(remote) == hours_in_warehouse(local)
    assert remote_stats.bytes() == local_stats.bytes()
    assert local_stats.bytes() > 0
