"""Security cases: credentials only go to the configured host and appear in no log, error,
Dagster event or warehouse table; injection payloads in org ids, ticket text and Linear titles
are data, never query text."""

from __future__ import annotations

import json
import logging
import shutil
import threading
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from altor_pipelines.defs.ingest import ingest_assets
from altor_pipelines.defs.resources import AltorResource
from altor_pipelines.errors import SourceError
from altor_pipelines.settings import Secret
from altor_pipelines.sources.http import HttpClient
from altor_pipelines.warehouse.sql_runner import discover, run_model
from altor_sim.servers import start_servers
from altor_sim.servers.faults_proxy import Fault, FaultProxy
from tests.faults.harness import LogCapture, Outcome, Runner, make_source, record, served
from tests.fixtures.tiny_world import ROOT_CAUSE_FIELD
from tests.integration.test_source_support import TINY_END, query, source_error_in

pytestmark = pytest.mark.faults

PAYLOADS = ("x' OR 1=1 --", "{org:String}", "; DROP TABLE raw_zendesk.tickets; --")
SECRET_TOKENS = {"zendesk": "zd-tok-5e1f0a77c2", "stripe": "sk_test_51xSecretAbc9",
                 "linear": "lin_api_Secret77d1", "github": "ghs_Secret0b3c5d7e"}


class Decoy:
    """Another host: records whatever reaches it."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, str]] = []
        decoy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                decoy.seen.append((self.path, self.headers.get("Authorization", "")))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def test_a_next_page_on_another_host_is_refused_and_gets_no_token(tiny_world, tmp_path):
    decoy = Decoy()
    try:
        def elsewhere(body):
            body["end_of_stream"] = False
            body["next_page"] = f"{decoy.url}/api/v2/incremental/users?start_time=1"
            return body

        faults = [Fault("mutate", path="/api/v2/incremental/users", mutate=elsewhere)]
        with served(tiny_world, tmp_path, "zendesk", faults) as s:
            with pytest.raises(Exception) as info:
                s.runner.run()
            err = source_error_in(info.value)
            assert isinstance(err, SourceError) and "another host" in str(err)
            assert err.endpoint == "/api/v2/incremental/users" and s.token not in str(err)
    finally:
        decoy.stop()
    assert decoy.seen == []
    record("security:next_page_other_host", "security", True, Outcome(), 1)


@pytest.mark.parametrize("url", [
    "http://evil.example/api/v2/users?page=2",   # another host
    "http://127.0.0.1:1/api/v2/users",           # same host, another port
    "https://127.0.0.1:8701/api/v2/users",       # another scheme
    "//evil.example/api/v2/users",               # scheme-relative
])
def test_http_client_never_sends_credentials_off_host(url):
    client = HttpClient("zendesk", "http://127.0.0.1:8701", {"Authorization": "Bearer t0ken"},
                        [Secret("t0ken")], max_retries=0)
    with pytest.raises(SourceError, match="another host"):
        client.request("GET", url, endpoint="/api/v2/users")
    assert client.url("http://127.0.0.1:8701/api/v2/users?page=2") == \
        "http://127.0.0.1:8701/api/v2/users?page=2"


def _texts_in(warehouse: Path) -> list[str]:
    """Every value of every table of the warehouse, as text."""
    out = []
    with duckdb.connect(str(warehouse), read_only=True) as con:
        tables = con.execute("SELECT schema_name, table_name FROM duckdb_tables()").fetchall()
        for schema, table in tables:
            for row in con.execute(f'SELECT * FROM "{schema}"."{table}"').fetchall():
                out.append(" ".join(map(str, row)))
    return out


def _files_in(folder: Path) -> list[str]:
    out = []
    for f in folder.rglob("*"):
        if f.is_file():
            try:
                out.append(f.read_bytes().decode("utf-8", "replace"))
            except OSError:
                pass
    return out


@pytest.mark.parametrize("vendor", ["zendesk", "stripe", "linear", "github"])
def test_tokens_appear_in_no_log_error_table_or_state_file(tiny_world, tmp_path, vendor):
    capture = LogCapture()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    token = SECRET_TOKENS[vendor]
    texts: list[str] = []
    try:
        with start_servers(tiny_world, as_of=TINY_END) as servers:
            servers.tokens[vendor] = token
            faults = [Fault("status", status=500, times=2), Fault("truncate", nth=4),
                      Fault("rate_limit", nth=6)]
            with FaultProxy(servers.urls[vendor], faults, vendor=vendor) as proxy:
                runner = Runner(vendor, tmp_path, lambda: make_source(vendor, proxy.url, token))
                runner.run()  # survives its transient faults
                # a rejected token: the vendor echoes what it was sent
                servers.tokens[vendor] = "another-token"
                try:
                    runner.run()
                except Exception as exc:  # noqa: BLE001
                    texts += [str(exc), repr(exc),
                              "".join(traceback.format_exception(exc))]
                else:
                    raise AssertionError("a rejected token must stop the source")
    finally:
        root.removeHandler(capture)
        root.setLevel(old_level)
    texts += capture.lines + _texts_in(runner.warehouse) + _files_in(runner.pipelines_dir)
    leaks = [t[:200] for t in texts if token in t]
    assert leaks == []
    assert capture.lines  # the retries were logged (without the token)
    record(f"security:token_grep_{vendor}", "security", True, Outcome(), 4)


def test_tokens_appear_in_no_dagster_event(tiny_world, tmp_path, monkeypatch):
    token = SECRET_TOKENS["github"]
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        servers.tokens["github"] = token
        faults = [Fault("status", status=401, path="/repos/acme/api/releases", times=-1),
                  Fault("status", status=502, path="/repos/acme/api/deployments")]
        with FaultProxy(servers.urls["github"], faults, vendor="github") as proxy:
            monkeypatch.setenv("ALTOR_DATA_DIR", str(tmp_path))
            monkeypatch.setenv("GITHUB_API_URL", proxy.url)
            monkeypatch.setenv("GITHUB_TOKEN", token)
            monkeypatch.setenv("GITHUB_REPO", "acme/api")
            monkeypatch.setenv("ALTOR_AS_OF", TINY_END)
            monkeypatch.setenv("ALTOR_SYNC_START", "2025-01-01T00:00:00Z")
            sync_github = next(a for a in ingest_assets() if a.node_def.name == "sync_github")
            instance = dg.DagsterInstance.ephemeral()
            run = dg.materialize([sync_github], resources={"altor": AltorResource()},
                                 instance=instance, raise_on_error=False)
    assert not run.success
    events = instance.all_logs(run.run_id)
    text = "\n".join(json.dumps(e.to_dict() if hasattr(e, "to_dict") else str(e), default=str)
                     for e in events) + "\n".join(str(e) for e in events)
    failure = [e for e in events if e.dagster_event and e.dagster_event.is_step_failure]
    assert failure and "401" in str(failure[0].dagster_event.event_specific_data.error)
    assert token not in text
    record("security:token_grep_dagster_events", "security", True, Outcome(), 2)


def test_injection_payloads_are_data_not_query_text(tiny_world, tmp_path):
    world = tmp_path / "world"
    shutil.copytree(tiny_world, world)

    def rewrite(path: Path, change) -> None:
        lines = [json.loads(x) for x in path.read_text().splitlines() if x.strip()]
        for row in lines:
            change(row["object"])
        path.write_text("".join(json.dumps(r) + "\n" for r in lines))

    def org(o):
        o["external_id"] = PAYLOADS[o["id"] % 3] if o.get("external_id") else o["external_id"]

    rewrite(world / "zendesk" / "organizations.jsonl", org)
    rewrite(world / "zendesk" / "tickets.jsonl",
            lambda t: t.update(subject=PAYLOADS[t["id"] % 3]))
    rewrite(world / "linear" / "issues.jsonl", lambda i: i.update(title=PAYLOADS[0]))
    with start_servers(world, as_of=TINY_END) as servers:
        for vendor in ("zendesk", "linear"):
            Runner(vendor, tmp_path, lambda v=vendor: make_source(
                v, servers.urls[v], servers.tokens[v])).run()
    wh = tmp_path / "warehouse.duckdb"
    subjects = {r[0] for r in query(wh, "SELECT subject FROM raw_zendesk.tickets")}
    assert subjects <= set(PAYLOADS) and len(subjects) >= 2
    assert {r[0] for r in query(wh, "SELECT title FROM raw_linear.issues")} == {PAYLOADS[0]}
    external = {r[0] for r in query(wh, "SELECT external_id FROM raw_zendesk.organizations")}
    assert external & set(PAYLOADS)
    con = duckdb.connect(str(wh))
    try:
        models = discover(["staging"])
        for name in ("stg_zendesk__organizations", "stg_zendesk__tickets", "stg_linear__issues"):
            run_model(con, models[f"staging.{name}"], {"root_cause_field_id": ROOT_CAUSE_FIELD})
        assert {r[0] for r in con.execute(
            "SELECT subject FROM staging.stg_zendesk__tickets").fetchall()} == subjects
        orgs = con.execute("SELECT external_id FROM staging.stg_zendesk__organizations "
                           "WHERE external_id = ?", [PAYLOADS[0]]).fetchall()
        assert all(r[0] == PAYLOADS[0] for r in orgs)
        assert con.execute("SELECT count(*) FROM raw_zendesk.tickets").fetchall()[0][0] == 4
    finally:
        con.close()
    record("security:injection_payloads", "security", True, Outcome(), len(PAYLOADS))
