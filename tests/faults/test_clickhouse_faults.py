"""ClickHouse under faults: the request-log source through the fault proxy in front of the
ClickHouse HTTP front (chDB underneath, the tiny world's logs). Transient failures (an error
inside a 200, the server going away mid-answer, 500/503) are retried and the warehouse ends
equal to a run without faults; a permanent one stops the source with an error naming the query
and window, never the password."""

from __future__ import annotations

import dataclasses
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dlt
import duckdb
import pyarrow as pa
import pytest

from altor_pipelines.settings import Secret, Settings
from altor_pipelines.sources.clickhouse_logs import clickhouse_logs_source
from altor_pipelines.warehouse.clickhouse import (
    ClickHouseAccess,
    close_chdb_clients,
    forget_server_clients,
)
from altor_sim.clickhouse.http_double import ClickHouseHttpFront
from altor_sim.clickhouse.loader import REQUEST_SCHEMA, load_request_logs
from altor_sim.servers.faults_proxy import Fault, FaultProxy
from tests.faults.harness import FAST, LogCapture, Outcome, record, run_expecting_error
from tests.fixtures.tiny_world import build_tiny_world

pytestmark = pytest.mark.faults

PASSWORD = "ch-pass-9f8e7d6c"
UNTIL = datetime(2026, 6, 1, 18, 0, tzinfo=UTC)
DATA_QUERY = "ArrowStream"  # every data query of the source asks for this format


@pytest.fixture(scope="module")
def front(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("ch_faults")
    close_chdb_clients()
    settings = dataclasses.replace(Settings.from_env(), clickhouse_host="",
                                   chdb_path=tmp / "chdb", clickhouse_database="faults")
    load_request_logs(ClickHouseAccess(settings), build_tiny_world(tmp / "world"), "faults")
    with ClickHouseHttpFront(settings.chdb_path, users={"reader": PASSWORD}) as f:
        f.settings = settings
        yield f
    forget_server_clients()
    close_chdb_clients()


def access_via(front, port: int) -> ClickHouseAccess:
    return ClickHouseAccess(dataclasses.replace(
        front.settings, clickhouse_host="127.0.0.1", clickhouse_port=port,
        clickhouse_user="reader", clickhouse_password=Secret(PASSWORD)))


def sync(access: ClickHouseAccess, warehouse: Path, until: datetime = UNTIL) -> None:
    pipeline = dlt.pipeline(pipeline_name="clickhouse_logs",
                            destination=dlt.destinations.duckdb(str(warehouse)),
                            dataset_name="raw_clickhouse",
                            pipelines_dir=str(warehouse.parent / "dlt"))
    pipeline.run(clickhouse_logs_source(access, until=until, windows_per_query=4,
                                        backoff_seconds=FAST))


def contents(warehouse: Path) -> tuple[list, list]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        hours = con.execute("SELECT org_id, hour, requests, n_429, first_minute, last_minute "
                            "FROM raw_clickhouse.org_hours ORDER BY ALL").fetchall()
        keys = con.execute("SELECT org_id, hour FROM raw_clickhouse.org_hours ORDER BY ALL"
                           ).fetchall()
    return hours, keys


@pytest.fixture(scope="module")
def reference(front, tmp_path_factory):
    wh = tmp_path_factory.mktemp("ch_ref") / "warehouse.duckdb"
    sync(access_via(front, front.port), wh)
    hours, keys = contents(wh)
    assert hours and keys
    return hours, keys


def compare(got: tuple[list, list], want: tuple[list, list]) -> Outcome:
    lost = len(set(want[0]) - set(got[0])) + len(set(want[1]) - set(got[1]))
    dup = (len(got[0]) - len(set(got[0]))) + (len(got[1]) - len(set(got[1])))
    dup += len(set(got[0]) - set(want[0])) + len(set(got[1]) - set(want[1]))
    return Outcome(lost=lost, duplicated=dup)


TRANSIENT = {
    "500_with_exception_code": [Fault("status", status=500, query_has=DATA_QUERY, times=2)],
    "503_overloaded": [Fault("vendor_rate_limit", query_has=DATA_QUERY)],
    "error_inside_200": [Fault("error_in_200", query_has=DATA_QUERY, nth=2)],
    "server_gone_mid_answer": [Fault("truncate", query_has=DATA_QUERY, nth=3, times=2)],
}


@pytest.mark.parametrize("case", sorted(TRANSIENT))
def test_clickhouse_transient_fault_is_retried_and_nothing_is_lost(front, reference, tmp_path,
                                                                   case):
    with FaultProxy(front.url, TRANSIENT[case], vendor="clickhouse") as proxy:
        sync(access_via(front, proxy.port), tmp_path / "warehouse.duckdb")
        fired = proxy.fired()
    assert fired >= 1
    result = compare(contents(tmp_path / "warehouse.duckdb"), reference)
    record(f"clickhouse:{case}", "clickhouse", True, result, fired)
    assert (result.lost, result.duplicated) == (0, 0)


def test_clickhouse_permanent_error_names_the_query_and_never_the_password(front, reference,
                                                                          tmp_path):
    echo = f"Code: 516. DB::Exception: reader: Authentication failed: password {PASSWORD} " \
           "is incorrect. (AUTHENTICATION_FAILED)".encode()
    faults = [Fault("status", status=500, query_has=DATA_QUERY, times=-1, body=echo)]
    wh = tmp_path / "warehouse.duckdb"
    with FaultProxy(front.url, faults, vendor="clickhouse") as proxy:
        err = run_expecting_error(lambda: sync(access_via(front, proxy.port), wh), PASSWORD)
        assert err.source == "clickhouse" and err.endpoint == "org_hours"
        assert ".." in str(err.record)  # the window
        proxy.faults.clear()
        sync(access_via(front, proxy.port), wh)  # the next run: equal to the reference
    result = compare(contents(wh), reference)
    record("clickhouse:permanent_500_then_recover", "clickhouse", True, result, 1)
    assert (result.lost, result.duplicated) == (0, 0)


def _late(ts: datetime, org: str, n: int, status: int = 200) -> list[dict]:
    return [{"ts": ts + timedelta(seconds=i), "org_id": org, "api_key_id": f"key_{org}",
             "endpoint": "/v1/charges", "method": "POST", "status": status,
             "error_code": "rate_limited" if status == 429 else None, "latency_ms": 30.0,
             "region": "us-east-1", "service": "charges", "request_id": f"late_{org}_{ts}_{i}"}
            for i in range(n)]


def test_clickhouse_rows_arriving_later_than_the_old_overlap_are_counted(front, tmp_path):
    """Rows stamped hours before the cursor arrive after their hours were loaded: within the
    re-read window (3h) they are re-read, older ones are found by the hourly audit, said in
    the log and read again; the warehouse ends equal to a count over the logs."""
    database = "late_rows"
    direct = ClickHouseAccess(dataclasses.replace(front.settings, clickhouse_database=database))
    assert load_request_logs(direct, build_tiny_world(tmp_path / "world"), database) == 720
    access = dataclasses.replace(access_via(front, front.port).settings,
                                 clickhouse_database=database)
    wh = tmp_path / "warehouse.duckdb"
    first = datetime(2026, 6, 1, 16, 7, tzinfo=UTC)  # loads [08:00, 16:00): cursor 16:00
    sync(ClickHouseAccess(access), wh, until=first)
    hour = datetime(2026, 6, 1, tzinfo=UTC)
    # all older than the cursor minus the old 10-minute overlap (15:50)
    late = (_late(hour.replace(hour=14, minute=30), "org_2", 3)            # re-read window
            + _late(hour.replace(hour=9, minute=15), "org_1", 2, 429)      # audited hour
            + _late(hour.replace(hour=10, minute=5), "org_late", 4))       # a new org, too
    with direct.client() as c:
        c.insert_arrow(f"{database}.requests", pa.Table.from_pylist(late, schema=REQUEST_SCHEMA))
    logs = LogCapture()
    logging.getLogger("altor_pipelines").addHandler(logs)
    try:
        sync(ClickHouseAccess(access), wh, until=first + timedelta(hours=2))
        said = [line for line in logs.lines if "re-read window changed" in line]
        sync(ClickHouseAccess(access), wh, until=first + timedelta(hours=2))  # again: steady
        again = [line for line in logs.lines if "re-read window changed" in line]
    finally:
        logging.getLogger("altor_pipelines").removeHandler(logs)
    with direct.client() as c:
        want_rows = [tuple(v.replace(tzinfo=UTC) if isinstance(v, datetime) else v for v in r)
                     for r in c.query("""
            SELECT org_id, toStartOfHour(ts) AS h, count(), countIf(status = 429),
                   toStartOfMinute(min(ts)), toStartOfMinute(max(ts))
            FROM {db:Identifier}.requests WHERE ts < {end:DateTime64(3, 'UTC')}
            GROUP BY org_id, h ORDER BY ALL""",
            parameters={"db": database, "end": hour.replace(hour=18)}).result_rows]
    want = (sorted(want_rows), sorted((r[0], r[1]) for r in want_rows))
    got = contents(wh)
    got = ([tuple(v.astimezone(UTC) if isinstance(v, datetime) else v for v in r)
            for r in got[0]], [(o, h.astimezone(UTC)) for o, h in got[1]])
    result = compare(got, want)
    record("clickhouse:late_rows_older_than_overlap", "clickhouse", True, result, len(late))
    assert (result.lost, result.duplicated) == (0, 0)
    assert got == want and len(got[1]) == len(set(got[1]))  # no key twice
    assert sum(r[2] for r in got[0]) == 720 + len(late)
    assert ("org_late", hour.replace(hour=10)) in got[1]
    # the hours older than the re-read window were named, once, and never the password
    assert len(said) == 1 and "2 hour(s)" in said[0] and "2026-06-01T09:00Z" in said[0]
    assert "endpoint=org_hours" in said[0] and PASSWORD not in "\n".join(logs.lines)
    assert again == said
    with direct.client() as c:
        c.command("DROP DATABASE IF EXISTS {db:Identifier}", parameters={"db": database})
