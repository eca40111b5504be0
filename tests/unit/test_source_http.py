"""The sources' shared HTTP client and quarantine, against a tiny scripted HTTP stub."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import duckdb
import pytest

from altor_pipelines.errors import SourceError
from altor_pipelines.settings import Secret
from altor_pipelines.sources.http import HttpClient, redact
from altor_pipelines.sources.sync import make_pipeline
from altor_pipelines.sources.zendesk import zendesk_source

TOKEN = "tok-very-secret-42"


class Stub:
    """Answers each request with the next scripted (status, headers, body) for its path."""

    def __init__(self) -> None:
        self.script: dict[str, list[tuple[int, dict, object]]] = {}
        self.seen: list[tuple[str, str]] = []
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                path = self.path.split("?")[0]
                stub.seen.append((path, self.headers.get("Authorization", "")))
                queue = stub.script.get(path) or [(404, {}, {"error": "nope"})]
                status, headers, body = queue.pop(0) if len(queue) > 1 else queue[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def stub() -> Iterator[Stub]:
    s = Stub()
    yield s
    s.httpd.shutdown()
    s.httpd.server_close()


def client(stub: Stub) -> HttpClient:
    secret = Secret(TOKEN)
    return HttpClient("zendesk", stub.url, {"Authorization": f"Bearer {secret.reveal()}"},
                      [secret], backoff_seconds=0.01, max_retries=3)


def test_429_waits_for_retry_after_and_5xx_are_retried(stub):
    stub.script["/a"] = [(429, {"Retry-After": "0"}, {}), (503, {}, {}), (200, {}, {"ok": 1})]
    data, _ = client(stub).get_json("/a", endpoint="/a")
    assert data == {"ok": 1} and [p for p, _ in stub.seen] == ["/a"] * 3


def test_retries_give_up_with_a_source_error_naming_the_endpoint(stub):
    stub.script["/a"] = [(500, {}, {})]
    with pytest.raises(SourceError) as info:
        client(stub).get_json("/a", endpoint="/api/a", record=7)
    assert info.value.endpoint == "/api/a" and info.value.record == 7
    assert len(stub.seen) == 4  # first try + 3 retries


def test_errors_never_carry_the_token_even_when_the_vendor_echoes_it(stub):
    stub.script["/a"] = [(401, {}, {"error": f"bad token {TOKEN}"})]
    with pytest.raises(SourceError) as info:
        client(stub).get_json("/a", endpoint="/a")
    assert TOKEN not in str(info.value) and "401" in str(info.value)
    assert stub.seen[0][1] == f"Bearer {TOKEN}"  # it was sent, once, in the header


def test_redact_and_secret_repr():
    assert redact(f"x {TOKEN} y", [Secret(TOKEN)]) == "x *** y"
    assert TOKEN not in repr(Secret(TOKEN))


def test_bad_record_is_quarantined_good_rows_load_and_cursor_advances(stub, tmp_path):
    stub.script["/api/v2/incremental/users"] = [(200, {}, {
        "users": [{"id": 1, "name": "A"}, {"name": "no id"}, {"id": 3, "name": "C"}],
        "end_time": 1_780_000_000, "end_of_stream": True, "next_page": None})]
    src = zendesk_source(stub.url, "a@b.c", TOKEN, datetime(2026, 1, 1, tzinfo=UTC),
                         page_size=10).with_resources("users")
    wh = tmp_path / "w.duckdb"
    pipeline = make_pipeline("zendesk", wh, tmp_path / "dlt")
    pipeline.run(src)
    con = duckdb.connect(str(wh))
    assert con.execute("SELECT id FROM raw_zendesk.users ORDER BY 1").fetchall() == [(1,), (3,)]
    q = con.execute("SELECT endpoint, field, reason, record FROM raw_zendesk._quarantine")
    assert q.fetchall() == [("/api/v2/incremental/users", "id", "missing required field",
                             '{"name":"no id"}')]
    con.close()
    state = pipeline.state["sources"]["zendesk"]["resources"]["users"]
    assert state["start_time"] == 1_780_000_000 - 61
    pipeline.run(zendesk_source(stub.url, "a@b.c", TOKEN, datetime(2026, 1, 1, tzinfo=UTC),
                                page_size=10).with_resources("users"))
    con = duckdb.connect(str(wh))
    assert con.execute("SELECT count(*) FROM raw_zendesk._quarantine").fetchall() == [(1,)]
    con.close()
