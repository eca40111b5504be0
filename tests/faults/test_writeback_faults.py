"""Write-back under faults and crashes: exactly one note per diagnosed ticket in the help desk,
whatever fails between the note's planning and its record.

A `delivery.writebacks` table with pending notes for the tiny world's live tickets is sent to
the Zendesk demo server through the fault proxy; the help desk's own comments are the truth
(the server's comment store, read back through its API)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest
import requests

from altor_pipelines.delivery.note import MARKER
from altor_pipelines.delivery.writeback_plan import ensure_tables
from altor_pipelines.delivery.writeback_send import send_pending
from altor_pipelines.sources.zendesk import zendesk_client
from altor_sim.servers import start_servers
from altor_sim.servers.faults_proxy import Fault, FaultProxy
from tests.faults.harness import FAST, TIMEOUT, Outcome, record
from tests.integration.test_source_support import TINY_END

pytestmark = pytest.mark.faults

TICKETS = (1, 2, 3)  # the tiny world's live tickets at its end


def fingerprint(tid: int) -> str:
    return f"fp{tid:014d}"


def plan(warehouse: Path) -> None:
    con = duckdb.connect(str(warehouse))
    ensure_tables(con)
    for tid in TICKETS:
        body = f"Altor diagnosis for ticket {tid}.\n\n{MARKER}{fingerprint(tid)}"
        request = {"ticket": {"comment": {"body": body, "public": False},
                              "additional_tags": ["altor_cause_how_to"]}}
        con.execute(
            "INSERT INTO delivery.writebacks VALUES (?, ?, 'initial', 'pending', 0, NULL, NULL, "
            "'v1', 'how_to', 'how_to', 'high', false, [], NULL, ?, NULL, "
            "TIMESTAMP '2026-06-02 12:00:00')", [tid, fingerprint(tid), json.dumps(request)])
    con.close()


def notes_in_helpdesk(servers) -> dict[int, int]:
    """Notes carrying each ticket's marker, as the help desk lists them."""
    out = {}
    headers = {"Authorization": f"Bearer {servers.tokens['zendesk']}"}
    for tid in TICKETS:
        body = requests.get(f"{servers.urls['zendesk']}/api/v2/tickets/{tid}/comments",
                            headers=headers, timeout=10).json()
        out[tid] = sum(MARKER + fingerprint(tid) in (c.get("body") or "")
                       for c in body["comments"])
    return out


def statuses(warehouse: Path) -> dict[int, str]:
    con = duckdb.connect(str(warehouse))
    try:
        return dict(con.execute("SELECT ticket_id, status FROM delivery.writebacks").fetchall())
    finally:
        con.close()


def send(warehouse: Path, url: str, token: str) -> object:
    client = zendesk_client(url, "agent@acme.test", token, max_retries=3, backoff_seconds=FAST,
                            timeout=TIMEOUT)
    con = duckdb.connect(str(warehouse))
    try:
        return send_pending(con, client)
    finally:
        con.close()


def finish(case: str, servers, warehouse: Path, fired: int) -> None:
    notes = notes_in_helpdesk(servers)
    duplicated = sum(max(0, n - 1) for n in notes.values())
    missing = sum(n == 0 for n in notes.values())
    record(f"writeback:{case}", "writeback", missing == 0 and duplicated == 0,
           Outcome(lost=missing), fired, notes_duplicated=duplicated)
    assert notes == {tid: 1 for tid in TICKETS}
    assert statuses(warehouse) == {tid: "written" for tid in TICKETS}


PUT = {"method": "PUT", "path": "/api/v2/tickets/2"}
FAULTS = {
    "put_500_before_applied": [Fault("status", status=500, **PUT, times=2)],
    "put_429": [Fault("rate_limit", **PUT)],
    "put_applied_then_502": [Fault("after_upstream", status=502, **PUT)],
    "put_applied_then_503_twice": [Fault("after_upstream", status=503, **PUT, times=2)],
    "put_applied_then_body_cut": [Fault("after_upstream", status=0, **PUT)],
    "put_applied_then_timeout": [Fault("delay", delay=TIMEOUT + 0.5, **PUT)],
    "put_applied_then_not_json": [Fault("after_upstream", status=0, **PUT),
                                  Fault("not_json", **PUT)],
    "comments_check_500": [Fault("status", status=500, method="GET",
                                 path="/api/v2/tickets/2/comments", times=2)],
    "comments_check_truncated": [Fault("truncate", method="GET",
                                       path="/api/v2/tickets/3/comments")],
}


@pytest.mark.parametrize("case", sorted(FAULTS))
def test_a_lost_or_failed_put_never_posts_twice(tiny_world, tmp_path, case):
    warehouse = tmp_path / "warehouse.duckdb"
    plan(warehouse)
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        with FaultProxy(servers.urls["zendesk"], FAULTS[case], vendor="zendesk") as proxy:
            send(warehouse, proxy.url, servers.tokens["zendesk"])
            send(warehouse, proxy.url, servers.tokens["zendesk"])  # a second run: no-op
            fired = proxy.fired()
        assert fired >= 1
        finish(case, servers, warehouse, fired)


def test_a_refused_put_is_failed_then_delivered_once_next_run(tiny_world, tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    plan(warehouse)
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        token = servers.tokens["zendesk"]
        with FaultProxy(servers.urls["zendesk"], [Fault("status", status=403, **PUT, times=-1)],
                        vendor="zendesk") as proxy:
            first = send(warehouse, proxy.url, token)
            assert (first.written, first.failed) == (2, 1)
            assert statuses(warehouse)[2] == "failed"
            con = duckdb.connect(str(warehouse))
            error = con.execute("SELECT last_error FROM delivery.writebacks WHERE ticket_id = 2"
                                ).fetchall()[0][0]
            con.close()
            assert "403" in error and "ticket 2" in error and token not in error
            fired = proxy.fired()
            proxy.faults.clear()
            send(warehouse, proxy.url, token)
        finish("put_403_then_next_run", servers, warehouse, fired)


CHILD = textwrap.dedent("""
    import os, signal, sys
    import duckdb
    from altor_pipelines.delivery.writeback_send import send_pending
    from altor_pipelines.sources.zendesk import zendesk_client

    warehouse, url, token, when = sys.argv[1:5]
    client = zendesk_client(url, "agent@acme.test", token, max_retries=0)
    real = client.request

    def request(method, *args, **kwargs):
        if method == "PUT" and when == "before_put":
            os.kill(os.getpid(), signal.SIGKILL)
        resp = real(method, *args, **kwargs)
        if method == "PUT" and when == "after_put":
            os.kill(os.getpid(), signal.SIGKILL)  # the note is posted, its record is not
        return resp

    client.request = request
    send_pending(duckdb.connect(warehouse), client)
""")


@pytest.mark.parametrize("when", ["before_put", "after_put"])
def test_kill_9_around_the_put_then_rerun_posts_each_note_once(tiny_world, tmp_path, when):
    warehouse = tmp_path / "warehouse.duckdb"
    plan(warehouse)
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        token = servers.tokens["zendesk"]
        child = subprocess.run([sys.executable, "-c", CHILD, str(warehouse),
                                servers.urls["zendesk"], token, when],
                               capture_output=True, text=True, timeout=120)
        assert child.returncode == -9, child.stderr
        posted = sum(notes_in_helpdesk(servers).values())
        assert posted == (1 if when == "after_put" else 0)
        send(warehouse, servers.urls["zendesk"], token)
        finish(f"kill_9_{when}", servers, warehouse, 1)
