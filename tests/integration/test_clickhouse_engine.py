"""ClickHouse, the real engine: the loader, a parameterised per-org aggregation, the same code
through a host/port setting (the loopback HTTP front over chDB), auth, errors inside 200
responses, and serialised access from concurrent threads. chDB in a temp dir; HTTP on loopback.
"""

from __future__ import annotations

import dataclasses
import threading
import urllib.error
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, StreamFailureError

from altor_pipelines.settings import Secret, Settings
from altor_pipelines.sources.clickhouse_logs import fetch_arrow, org_status_counts, raw_log_size
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess, clickhouse_sql
from altor_sim.clickhouse.http_double import ClickHouseHttpFront
from altor_sim.clickhouse.loader import load_request_logs
from tests.fixtures.tiny_world import build_tiny_world

DB = "altor"
USER, PASSWORD = "altor_reader", "s3cret-pw"


def at(hhmm: str, day: int = 1) -> datetime:
    h, m = map(int, hhmm.split(":"))
    return datetime(2026, 6, day, h, m, tzinfo=UTC)


def chdb_settings(path: Path, database: str = DB) -> Settings:
    return dataclasses.replace(Settings.from_env(), clickhouse_host="", chdb_path=path,
                               clickhouse_database=database)


def http_settings(front: ClickHouseHttpFront, password: str = PASSWORD,
                  database: str = DB) -> Settings:
    return dataclasses.replace(Settings.from_env(), clickhouse_host="127.0.0.1",
                               clickhouse_port=front.port, clickhouse_user=USER,
                               clickhouse_password=Secret(password), clickhouse_database=database)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> ClickHouseAccess:
    root = tmp_path_factory.mktemp("ch_engine")
    world = build_tiny_world(root / "world")
    access = ClickHouseAccess(chdb_settings(root / "chdb"))
    assert load_request_logs(access, world, DB) == 720
    access.world = world  # type: ignore[attr-defined]
    return access


@pytest.fixture(scope="module")
def front(store: ClickHouseAccess):
    with ClickHouseHttpFront(store.settings.chdb_path, users={USER: PASSWORD}) as server:
        yield server


def test_loader_creates_the_ordered_table_and_a_reload_does_not_duplicate(store):
    assert load_request_logs(store, store.world, DB) == 720  # second load of the same world
    with store.client() as c:
        assert c.query("SELECT count(), uniqExact(request_id) FROM altor.requests").result_rows \
            == [(720, 720)]
        engine, sorting, partition = c.query(
            "SELECT engine, sorting_key, partition_key FROM system.tables "
            "WHERE database = 'altor' AND name = 'requests'").result_rows[0]
        types = dict(c.query("SELECT name, type FROM system.columns "
                             "WHERE database = 'altor' AND table = 'requests'").result_rows)
        tables = c.query("SELECT name FROM system.tables WHERE database = 'altor'").result_rows
    assert (engine, sorting, partition) == ("MergeTree", "org_id, ts", "toYYYYMM(ts)")
    assert types["ts"] == "DateTime64(3, 'UTC')"
    assert types["status"] == "UInt16"
    assert types["error_code"] == "LowCardinality(Nullable(String))"
    for col in ("endpoint", "method", "region", "service"):
        assert types[col] == "LowCardinality(String)"
    assert tables == [("requests",)]  # the loading table was swapped in and dropped


def test_per_org_aggregation_returns_the_hand_computed_counts(store):
    # tiny_world: a tick every 5 minutes from 08:00 to 17:55, 2 requests per org per tick.
    # org_1 fails its first request of each tick in [09:55, 14:45): ticks 09:55..14:40 = 58.
    with store.client() as c:
        assert org_status_counts(c, DB, "org_1", at("09:55"), at("14:45")) == {200: 58, 500: 58}
        assert org_status_counts(c, DB, "org_1", at("08:00"), at("09:55")) == {200: 46}
        assert org_status_counts(c, DB, "org_1", at("14:45"), at("18:00")) == {200: 78}
        assert org_status_counts(c, DB, "org_2", at("09:55"), at("14:45")) == {200: 116}
        assert org_status_counts(c, DB, "org_1", at("10:00"), at("10:05")) == {200: 1, 500: 1}
        # A quote in the value is data, not SQL: the parameter is bound by the server.
        assert org_status_counts(c, DB, "org_1' OR '1'='1", at("08:00"), at("18:00")) == {}


def test_same_aggregation_through_a_host_port_setting_gives_identical_results(store, front):
    http = ClickHouseAccess(http_settings(front))
    assert http.key.startswith("http:127.0.0.1:")
    window = {"database": DB, "start": at("08:00"), "end": at("18:00")}
    for org in ("org_1", "org_2", "org_3"):
        with store.client() as c:
            local = org_status_counts(c, DB, org, at("09:55"), at("14:45"))
        with http.client() as c:
            remote = org_status_counts(c, DB, org, at("09:55"), at("14:45"))
        assert remote == local
    with store.client() as c:
        local_table, _ = fetch_arrow(c, clickhouse_sql("org_hours"), window)
    before = len(front.received)
    with http.client() as c:
        remote_table, wire_bytes = fetch_arrow(c, clickhouse_sql("org_hours"), window)
    assert remote_table.equals(local_table) and remote_table.num_rows == 3 * 10
    assert wire_bytes > 0
    # Parameters travelled as server-side parameters, not formatted into the SQL text.
    sent = front.received[before]
    assert "{start:DateTime64(3, 'UTC')}" in sent.query
    assert sent.params["start"] == "2026-06-01 08:00:00.000000"
    assert sent.params["database"] == DB


def test_the_loader_runs_unchanged_over_http(store, front):
    http = ClickHouseAccess(http_settings(front))
    assert load_request_logs(http, store.world, "altor_http") == 720
    with http.client() as c:
        assert org_status_counts(c, "altor_http", "org_1", at("09:55"), at("14:45")) \
            == {200: 58, 500: 58}
        assert raw_log_size(c, "altor_http")["rows"] == 720
        c.command("DROP DATABASE altor_http")


def test_http_front_enforces_auth(front):
    with pytest.raises(DatabaseError) as wrong:
        with ClickHouseAccess(http_settings(front, password="wrong")).client():
            pass
    assert wrong.value.code == 516
    # On the wire, as ClickHouse answers: wrong password 403/516, missing password 401/194.
    req = urllib.request.Request(f"{front.url}/?query=SELECT%201",
                                 headers={"X-ClickHouse-User": USER, "X-ClickHouse-Key": "nope"})
    with pytest.raises(urllib.error.HTTPError) as forbidden:
        urllib.request.urlopen(req)
    assert forbidden.value.code == 403
    assert forbidden.value.headers["X-ClickHouse-Exception-Code"] == "516"
    assert forbidden.value.read().startswith(b"Code: 516. DB::Exception:")
    with pytest.raises(urllib.error.HTTPError) as unauthorized:
        urllib.request.urlopen(f"{front.url}/?query=SELECT%201&user={USER}")
    assert unauthorized.value.code == 401
    assert unauthorized.value.headers["X-ClickHouse-Exception-Code"] == "194"
    ok = urllib.request.Request(f"{front.url}/?query=SELECT%201",
                                headers={"X-ClickHouse-User": USER, "X-ClickHouse-Key": PASSWORD})
    assert urllib.request.urlopen(ok).read() == b"1\n"
    assert urllib.request.urlopen(f"{front.url}/ping").read() == b"Ok.\n"


def test_an_error_inside_a_200_response_is_raised_by_the_client(front):
    http = ClickHouseAccess(http_settings(front))
    with http.client() as c:
        # 1. The server had already sent 200 and progress headers when the query failed.
        front.headers_sent_before_errors = True
        try:
            req = urllib.request.Request(
                f"{front.url}/?query=SELECT%20nosuch", headers={"X-ClickHouse-User": USER,
                                                                 "X-ClickHouse-Key": PASSWORD})
            with urllib.request.urlopen(req) as raw:
                assert raw.status == 200
                assert raw.headers["X-ClickHouse-Exception-Code"] == "47"
            with pytest.raises(DatabaseError) as in_headers:
                c.query("SELECT nosuch FROM altor.requests")
            assert in_headers.value.code == 47
        finally:
            front.headers_sent_before_errors = False
        # 2. The error happened after blocks were streamed: it arrives inside the 200 body
        # (between __exception__ markers carrying the response's X-ClickHouse-Exception-Tag).
        # Rows are slowed down server-side so the first blocks leave before the failure.
        rows = []
        with pytest.raises(StreamFailureError) as mid_stream:
            with c.query_row_block_stream(
                    "SELECT number, throwIf(number = 6) FROM numbers(10) "
                    "WHERE sleepEachRow(0.05) = 0 "
                    "SETTINGS max_block_size = 1, max_threads = 1") as stream:
                for block in stream:
                    rows.extend(block)
        assert 1 <= len(rows) <= 6 and rows == [(i, 0) for i in range(len(rows))]
        assert "Code: 395" in str(mid_stream.value)
        # 3. An ordinary failure keeps its ClickHouse status and code.
        with pytest.raises(DatabaseError) as unknown:
            c.query("SELECT 1 FROM altor.no_such_table")
        assert unknown.value.code == 60
        # The connection is still good afterwards.
        assert c.query("SELECT count() FROM altor.requests").result_rows == [(720,)]


def test_two_concurrent_steps_through_clickhouse_access_do_not_collide(store):
    inside, most_inside, errors = [0], [0], []
    gate = threading.Lock()

    def tracked(access: ClickHouseAccess, work) -> None:
        with access.client() as client:
            with gate:
                inside[0] += 1
                most_inside[0] = max(most_inside[0], inside[0])
            try:
                work(client)
            finally:
                with gate:
                    inside[0] -= 1

    def reader() -> None:  # an investigation step: many small aggregations
        access = ClickHouseAccess(store.settings)
        try:
            for _ in range(25):
                tracked(access, lambda c: results.append(
                    org_status_counts(c, DB, "org_1", at("09:55"), at("14:45"))))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    def writer() -> None:  # a load step: DDL, batches, reads of its own table
        access = ClickHouseAccess(store.settings)
        try:
            tracked(access, lambda c: c.command(
                "CREATE OR REPLACE TABLE altor.concurrent (n UInt32) "
                "ENGINE = MergeTree ORDER BY n"))
            for i in range(25):
                tracked(access, lambda c, i=i: c.insert_arrow(
                    "altor.concurrent", pa.table({"n": pa.array([i], pa.uint32())})))
            tracked(access, lambda c: counts.append(
                c.query("SELECT count(), sum(n) FROM altor.concurrent").result_rows[0]))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    results: list = []
    counts: list = []
    threads = [threading.Thread(target=reader), threading.Thread(target=writer)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not errors
    assert results == [{200: 58, 500: 58}] * 25
    assert counts == [(25, sum(range(25)))]
    assert most_inside[0] == 1  # never two users of the engine at once
    with store.client() as c:
        c.command("DROP TABLE altor.concurrent")
