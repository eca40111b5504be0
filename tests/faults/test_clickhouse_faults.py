"""ClickHouse under faults: the request-log source through the fault proxy in front of the
ClickHouse HTTP front (chDB underneath, the tiny world's logs). Transient failures (an error
inside a 200, the server going away mid-answer, 500/503) are retried and the warehouse ends
equal to a run without faults; a permanent one stops the source with an error naming the query
and window, never the password."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import dlt
import duckdb
import pytest

from altor_pipelines.settings import Secret, Settings
from altor_pipelines.sources.clickhouse_logs import clickhouse_logs_source
from altor_pipelines.warehouse.clickhouse import (
    ClickHouseAccess,
    close_chdb_clients,
    forget_server_clients,
)
from altor_sim.clickhouse.http_double import ClickHouseHttpFront
from altor_sim.clickhouse.loader import load_request_logs
from altor_sim.servers.faults_proxy import Fault, FaultProxy
from tests.faults.harness import FAST, Outcome, record, run_expecting_error
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


def sync(access: ClickHouseAccess, warehouse: Path) -> None:
    pipeline = dlt.pipeline(pipeline_name="clickhouse_logs",
                            destination=dlt.destinations.duckdb(str(warehouse)),
                            dataset_name="raw_clickhouse",
                            pipelines_dir=str(warehouse.parent / "dlt"))
    pipeline.run(clickhouse_logs_source(access, until=UNTIL, windows_per_query=4,
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
