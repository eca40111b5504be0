"""The clickhouse_logs dlt source on chDB (temp dir) into DuckDB (temp file): aggregates only,
closed windows, overlap re-reads, late rows, failure mid-run, staging SQL, and the same source
through a host/port setting (the loopback HTTP front)."""

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

KEY = "org_id, service, endpoint, status, error_code, minute"


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


def minutes_in_ch(access, end: datetime) -> list[tuple]:
    """The aggregates computed independently in ClickHouse (counts and max only)."""
    return ch(access, f"""
        SELECT org_id, toString(service), toString(endpoint), status,
               toString(ifNull(error_code, '')), toStartOfMinute(ts), count(), max(latency_ms)
        FROM {{db:Identifier}}.requests WHERE ts < {{end:DateTime64(3, 'UTC')}}
        GROUP BY {KEY.replace('minute', 'toStartOfMinute(ts)')} ORDER BY ALL""", end=end)


def minutes_in_warehouse(pipeline) -> list[tuple]:
    rows = warehouse(pipeline, """
        SELECT org_id, service, endpoint, status, error_code, timezone('UTC', minute),
               requests, latency_max_ms
        FROM raw_clickhouse.request_minutes ORDER BY ALL""")
    return [(*r[:5], r[5].replace(tzinfo=UTC), *r[6:]) for r in rows]


def normalise(rows):
    return [(*r[:5], r[5].replace(tzinfo=UTC) if r[5].tzinfo is None else r[5], *r[6:])
            for r in rows]


def test_full_run_loads_exactly_the_aggregates_of_closed_windows(logs, tmp_path):
    p = make_pipeline(tmp_path)
    stats = run(p, logs, until=at("16:07"), error_sample_per_org_window=5)
    # Only windows ending at or before 16:07 are loaded: [08:00, 16:00).
    assert stats.bounds("request_minutes") == [(at("08:00"), at("16:00"))]
    assert warehouse(p, "SELECT sum(requests), count(*) FROM raw_clickhouse.request_minutes") \
        == [(96 * 6, 96 * 3 + 58)]
    assert ch(logs, "SELECT count() FROM {db:Identifier}.requests WHERE ts < "
                    "{end:DateTime64(3, 'UTC')}", end=at("16:00")) == [(96 * 6,)]
    assert minutes_in_warehouse(p) == normalise(minutes_in_ch(logs, at("16:00")))
    # Keys unique; the 500s carry their latency.
    assert warehouse(p, f"SELECT count(*) - count(DISTINCT ({KEY})) "
                        "FROM raw_clickhouse.request_minutes") == [(0,)]
    assert warehouse(p, """SELECT requests, latency_p50_ms, latency_p99_ms, latency_max_ms
        FROM raw_clickhouse.request_minutes WHERE org_id = 'org_1' AND status = 500
        AND minute = TIMESTAMPTZ '2026-06-01 10:00:00+00'""") == [(1, 900.0, 900.0, 900.0)]
    # Error samples: at most 5 per org and hour. org_1 errs at 09:55 (1), 10:00..13:55 (12 per
    # hour, 5 kept each), 14:00..14:40 (9, 5 kept): 1 + 4 * 5 + 5 = 26.
    assert warehouse(p, """SELECT date_trunc('hour', timezone('UTC', ts)) AS h, count(*)
        FROM raw_clickhouse.error_samples GROUP BY h ORDER BY h""") == [
        (datetime(2026, 6, 1, 9), 1), *[(datetime(2026, 6, 1, h), 5) for h in range(10, 15)]]
    # Only aggregates and samples came back, and the run says how much.
    assert stats.rows("request_minutes") == 96 * 3 + 58
    assert stats.rows("error_samples") == 26
    assert stats.bytes() > 0
    state = p.state["sources"]["clickhouse_logs"]["resources"]["request_minutes"]
    assert state["closed_until"] == at("16:00").isoformat()
    assert state["last_run"]["rows"] == 96 * 3 + 58
    with logs.client() as c:
        assert raw_log_size(c, logs.database)["rows"] == 720


def test_second_run_with_the_same_clock_adds_nothing_and_only_rereads_the_overlap(logs, tmp_path):
    p = make_pipeline(tmp_path)
    run(p, logs, until=at("16:07"))
    before = warehouse(p, "SELECT (SELECT count(*) FROM raw_clickhouse.request_minutes), "
                          "(SELECT count(*) FROM raw_clickhouse.error_samples)")
    stats = run(p, logs, until=at("16:07"))
    assert [(q.resource, q.kind, q.start, q.end) for q in stats.queries] == [
        ("request_minutes", "overlap", at("15:50"), at("16:00")),
        ("error_samples", "overlap", at("15:00"), at("16:00")),
    ]
    assert warehouse(p, "SELECT (SELECT count(*) FROM raw_clickhouse.request_minutes), "
                        "(SELECT count(*) FROM raw_clickhouse.error_samples)") == before
    assert minutes_in_warehouse(p) == normalise(minutes_in_ch(logs, at("16:00")))


def test_advancing_the_clock_loads_only_new_windows_and_picks_up_late_rows(logs, tmp_path):
    p = make_pipeline(tmp_path)
    run(p, logs, until=at("16:07"))
    # Late rows: one inside the overlap (15:57), one long before it (12:01, not re-read).
    late = pa.Table.from_pylist([
        {"ts": at("15:57"), "org_id": "org_2", "api_key_id": "key_2", "endpoint": "/v1/charges",
         "method": "POST", "status": 503, "error_code": "unavailable", "latency_ms": 30.0,
         "region": "us-east-1", "service": "charges", "request_id": "late_1"},
        {"ts": at("12:01"), "org_id": "org_3", "api_key_id": "key_3", "endpoint": "/v1/charges",
         "method": "POST", "status": 502, "error_code": "bad_gateway", "latency_ms": 30.0,
         "region": "us-east-1", "service": "charges", "request_id": "late_2"},
    ], schema=REQUEST_SCHEMA)
    with logs.client() as c:
        c.insert_arrow(f"{logs.database}.requests", late)
    stats = run(p, logs, until=at("18:00"))
    assert stats.bounds("request_minutes") == [(at("15:50"), at("16:00")),
                                               (at("16:00"), at("18:00"))]
    assert stats.bounds("request_minutes", "window") == [(at("16:00"), at("18:00"))]
    assert stats.bounds("error_samples") == [(at("15:00"), at("16:00")),
                                             (at("16:00"), at("18:00"))]
    got = warehouse(p, """SELECT org_id, status, requests FROM raw_clickhouse.request_minutes
        WHERE status IN (502, 503)""")
    assert got == [("org_2", 503, 1)]  # the 12:01 row is outside the overlap: not re-read
    assert warehouse(p, "SELECT request_id FROM raw_clickhouse.error_samples "
                        "WHERE request_id LIKE 'late%'") == [("late_1",)]
    assert warehouse(p, "SELECT sum(requests) FROM raw_clickhouse.request_minutes") \
        == [(720 + 1,)]


def test_a_run_failing_mid_way_then_rerun_loses_and_duplicates_nothing(logs, tmp_path):
    p = make_pipeline(tmp_path)
    run(p, logs, until=at("12:00"), windows_per_query=1)
    calls = []

    def fail_on_second_new_window(resource, kind, start, end):
        if resource == "request_minutes" and kind == "window":
            calls.append(start)
            if len(calls) == 2:
                raise RuntimeError("ClickHouse went away")

    with pytest.raises(Exception, match="ClickHouse went away"):
        run(p, logs, until=at("18:00"), windows_per_query=1,
            before_query=fail_on_second_new_window)
    assert calls == [at("12:00"), at("13:00")]
    # Nothing of the failed run was committed: data and cursor are those of the first run.
    assert warehouse(p, "SELECT max(minute) < TIMESTAMPTZ '2026-06-01 12:00:00+00' "
                        "FROM raw_clickhouse.request_minutes") == [(True,)]
    stats = run(p, logs, until=at("18:00"), windows_per_query=1)
    assert stats.bounds("request_minutes", "window")[0] == (at("12:00"), at("13:00"))
    assert minutes_in_warehouse(p) == normalise(minutes_in_ch(logs, at("18:00")))
    assert warehouse(p, f"SELECT count(*) - count(DISTINCT ({KEY})), sum(requests) "
                        "FROM raw_clickhouse.request_minutes") == [(0, 720)]
    assert warehouse(p, "SELECT count(*), count(DISTINCT request_id) "
                        "FROM raw_clickhouse.error_samples") == [(58, 58)]


def test_staging_models_give_the_contract_columns_and_values(logs, tmp_path):
    p = make_pipeline(tmp_path)
    run(p, logs, until=at("18:00"))
    models = discover(["staging"])
    with duckdb.connect(_WAREHOUSES[id(p)]) as con:
        con.execute("SET TimeZone = 'America/New_York'")  # staging must not depend on it
        for name in ("stg_clickhouse__request_minutes", "stg_clickhouse__error_samples"):
            run_model(con, models[f"staging.{name}"])
        minutes = con.execute("DESCRIBE staging.stg_clickhouse__request_minutes").fetchall()
        samples = con.execute("DESCRIBE staging.stg_clickhouse__error_samples").fetchall()
        row = con.execute("""SELECT * FROM staging.stg_clickhouse__request_minutes
            WHERE org_id = 'org_1' AND minute = TIMESTAMP '2026-06-01 10:00:00'
            ORDER BY status""").fetchall()
        sample = con.execute("""SELECT * FROM staging.stg_clickhouse__error_samples
            WHERE request_id = 'req_138'""").fetchall()
        totals = con.execute("""SELECT sum(requests), count(*) FILTER (WHERE error_code IS NULL),
            count(*) FILTER (WHERE status >= 400 AND error_code IS NULL)
            FROM staging.stg_clickhouse__request_minutes""").fetchall()
    assert [(c[0], c[1]) for c in minutes] == [
        ("org_id", "VARCHAR"), ("service", "VARCHAR"), ("endpoint", "VARCHAR"),
        ("status", "INTEGER"), ("error_code", "VARCHAR"), ("minute", "TIMESTAMP"),
        ("requests", "BIGINT"), ("latency_p50_ms", "DOUBLE"), ("latency_p95_ms", "DOUBLE"),
        ("latency_p99_ms", "DOUBLE"), ("latency_max_ms", "DOUBLE")]
    assert [(c[0], c[1]) for c in samples] == [
        ("request_id", "VARCHAR"), ("ts", "TIMESTAMP"), ("org_id", "VARCHAR"),
        ("api_key_id", "VARCHAR"), ("service", "VARCHAR"), ("endpoint", "VARCHAR"),
        ("method", "VARCHAR"), ("status", "INTEGER"), ("error_code", "VARCHAR"),
        ("latency_ms", "DOUBLE"), ("region", "VARCHAR")]
    ten = datetime(2026, 6, 1, 10, 0)
    assert row == [
        ("org_1", "charges", "/v1/charges", 200, None, ten, 1, 120.0, 120.0, 120.0, 120.0),
        ("org_1", "charges", "/v1/charges", 500, "internal_error", ten, 1, 900.0, 900.0, 900.0,
         900.0)]
    # req_138: org_1's first failing request, 09:55:00 (tick 23 of org_1, k=0).
    assert sample == [("req_138", datetime(2026, 6, 1, 9, 55), "org_1", "key_1", "charges",
                       "/v1/charges", "POST", 500, "internal_error", 900.0, "us-east-1")]
    assert totals == [(720, 120 * 3, 0)]


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
    assert minutes_in_warehouse(remote) == minutes_in_warehouse(local)
    assert warehouse(remote, "SELECT * FROM raw_clickhouse.error_samples ORDER BY request_id") \
        == warehouse(local, "SELECT * FROM raw_clickhouse.error_samples ORDER BY request_id")
    assert remote_stats.bytes() == local_stats.bytes()
    assert local_stats.bytes() > 0
