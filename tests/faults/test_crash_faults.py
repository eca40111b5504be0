"""Crashes: a sync killed with SIGKILL in the middle of its run, and a warehouse locked by
another writer. The next run ends with the warehouse equal to the world, nothing duplicated."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import duckdb
import pytest

from altor_pipelines.settings import PROJECT_ROOT
from altor_sim.servers import start_servers
from altor_sim.servers.faults_proxy import Fault, FaultProxy
from tests.faults.harness import Outcome, Runner, make_source, outcome, record
from tests.integration.test_source_support import TINY_END

pytestmark = pytest.mark.faults

CHILD = textwrap.dedent("""
    import sys
    from pathlib import Path
    from tests.faults.harness import make_source
    from tests.integration.test_source_support import Runner

    vendor, url, token, tmp = sys.argv[1:5]
    Runner(vendor, Path(tmp), lambda: make_source(vendor, url, token)).run()
""")
# Where the sync is stopped: a request well into each source's run.
HANG = {"zendesk": ("/api/v2/incremental/ticket_events", 1),
        "stripe": ("/v1/charges", 1),
        "linear": ("/graphql", 4),
        "github": ("/repos/acme/api/commits", 1)}


def wait_for(predicate, seconds: float = 60.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        time.sleep(0.05)


@pytest.mark.parametrize("vendor", sorted(HANG))
def test_sync_killed_mid_run_then_rerun_equals_the_world(tiny_world, tmp_path, vendor):
    path, nth = HANG[vendor]
    hang = Fault("delay", path=path, nth=nth, delay=20.0)
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        token = servers.tokens[vendor]
        with FaultProxy(servers.urls[vendor], [hang], vendor=vendor) as proxy:
            child = subprocess.Popen([sys.executable, "-c", CHILD, vendor, proxy.url, token,
                                      str(tmp_path)], cwd=PROJECT_ROOT,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            try:
                wait_for(lambda: hang.fired >= 1 or child.poll() is not None)
                assert child.poll() is None, child.stderr.read().decode()[-2000:]
                os.kill(child.pid, signal.SIGKILL)
                assert child.wait(timeout=30) == -signal.SIGKILL
            finally:
                if child.poll() is None:
                    child.kill()
                child.stderr.close()
            proxy.faults.clear()
            runner = Runner(vendor, tmp_path, lambda: make_source(vendor, proxy.url, token))
            runner.run()
            runner.run()
    result = outcome(runner.warehouse, tiny_world, vendor)
    record(f"{vendor}:kill_9_mid_sync", vendor, True, result, 1)
    assert (result.lost, result.duplicated) == (0, 0), result.lost_ids


LOCKER = textwrap.dedent("""
    import sys, time
    import duckdb
    con = duckdb.connect(sys.argv[1])
    print("locked", flush=True)
    time.sleep(120)
""")


def test_warehouse_locked_by_another_writer_is_a_clear_error_then_recovers(tiny_world,
                                                                          tmp_path):
    vendor = "github"
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        token = servers.tokens[vendor]
        runner = Runner(vendor, tmp_path, lambda: make_source(vendor, servers.urls[vendor],
                                                              token))
        runner.run()
        locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(runner.warehouse)],
                                  stdout=subprocess.PIPE, text=True)
        try:
            assert locker.stdout.readline().strip() == "locked"
            with pytest.raises(Exception) as info:
                runner.run()
            text = str(info.value)
            assert "lock" in text.lower() and token not in text
        finally:
            locker.kill()
            locker.wait(timeout=30)
            locker.stdout.close()
        runner.run()
    result = outcome(runner.warehouse, tiny_world, vendor)
    record("duckdb:locked_by_another_writer", "duckdb", True, result, 1)
    assert (result.lost, result.duplicated) == (0, 0)


def _altor(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", "from altor_pipelines.cli import app; app()",
                           *args], capture_output=True, text=True, env=env, cwd=PROJECT_ROOT,
                          timeout=120)


def test_investigate_on_a_locked_warehouse_says_which_and_what_to_do(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("CREATE SCHEMA staging")
        con.execute("CREATE TABLE staging.stg_zendesk__tickets (ticket_id BIGINT, "
                    "subject VARCHAR, created_at TIMESTAMP, organization_id BIGINT)")
    env = {**os.environ, "ALTOR_WAREHOUSE_PATH": str(warehouse)}
    locker = subprocess.Popen([sys.executable, "-c", LOCKER, str(warehouse)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert locker.stdout.readline().strip() == "locked"
        done = _altor("investigate", "4242", env=env)
    finally:
        locker.kill()
        locker.wait(timeout=30)
        locker.stdout.close()
    assert done.returncode == 1, done
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr + done.stdout, done.stderr
    assert str(warehouse) in lines[0] and f"pid {locker.pid}" in lines[0]
    assert "locked by another process" in lines[0] and "wait for it to finish" in lines[0]
    # the lock was the only trouble: once released, the same command reads the warehouse
    done = _altor("investigate", "4242", env=env)
    assert done.returncode == 2 and "ticket 4242 is not in the warehouse" in done.stderr
    record("duckdb:investigate_while_locked", "duckdb", True, Outcome(), 1)
