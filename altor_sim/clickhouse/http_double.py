"""A loopback HTTP front over chDB: a test double of ClickHouse's HTTP *transport*.

It speaks enough of ClickHouse's HTTP interface for clickhouse-connect's HTTP client
(`clickhouse_connect.get_client(host=..., port=...)`) to work unchanged, and runs every
statement on the real engine (chDB, in this process). It exists to prove that the pipeline's
code runs unchanged against a host/port setting, and to exercise the transport's own failure
modes: HTTP auth, error statuses with `X-ClickHouse-Exception-Code`, an error raised in the
middle of a streamed 200 response, and an error that arrives in a 200 response whose progress
headers were already sent.

What it implements, from ClickHouse's HTTP interface:
- `GET /ping` and `GET /` -> `Ok.`;
- the statement from the `query` URL parameter and/or the POST body (for `INSERT ... FORMAT X`
  the body is the data; `Content-Encoding` lz4/zstd/gzip/deflate/br request bodies; chunked
  request bodies); `database`, `default_format`, `query_id` and `param_<name>` parameters;
  other parameters are ClickHouse settings, applied to the statement's session;
- auth by HTTP Basic, `X-ClickHouse-User`/`X-ClickHouse-Key` headers or `user`/`password`
  parameters: missing password -> 401 (194 REQUIRED_PASSWORD), wrong -> 403
  (516 AUTHENTICATION_FAILED), as ClickHouse's exceptionCodeToHTTPStatus maps them;
- errors as `Code: N. DB::Exception: ... (NAME) (version V)` with the HTTP status ClickHouse
  maps the error name to and the `X-ClickHouse-Exception-Code` header;
- responses with `X-ClickHouse-Query-Id`, `-Format`, `-Timezone`, `-Summary`; without
  `wait_end_of_query=1` a SELECT in a streamable format is streamed block by block (chunked),
  and an engine error after the first block is written into the body between
  `__exception__` markers with the `X-ClickHouse-Exception-Tag` of the response, as ClickHouse
  25.11+ does.

A multipart/form-data body (what clickhouse-connect sends for large parameter sets) is read as
ClickHouse does: its `query` field is the query, its other fields join the URL's parameters.
Not implemented: external data (files in a form), response compression (responses are sent
uncompressed, which the client accepts), sessions (`session_id` is accepted and ignored; every
request gets a fresh engine handle), the `client_protocol_version` block-info framing (the client
then falls back to protocol 0, as it does behind proxies).

Statements run under the same per-path lock as `ClickHouseAccess`, so the front and in-process
users of the engine never interleave.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import ThreadingHTTPServer
from pathlib import Path

import chdb

from altor_pipelines.warehouse.clickhouse import chdb_engine_lock
from altor_sim.clickhouse.http_handler import ClickHouseHandler, ReceivedRequest


@dataclass
class ClickHouseHttpFront:
    """Serves ClickHouse's HTTP interface on loopback over the chDB engine at `chdb_path`.

    `users`: {user: password}. `headers_sent_before_errors`: answer every failing statement
    with 200 + progress header + `X-ClickHouse-Exception-Code` (what a server does when the
    statement fails after it already sent progress headers).
    """

    chdb_path: Path
    users: dict[str, str] = field(default_factory=lambda: {"default": ""})
    host: str = "127.0.0.1"
    port: int = 0
    headers_sent_before_errors: bool = False
    received: list[ReceivedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.chdb_path = Path(self.chdb_path).resolve()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._version: str | None = None
        self._timezone = "UTC"

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> ClickHouseHttpFront:
        self.chdb_path.mkdir(parents=True, exist_ok=True)
        version, tz = self._run_simple("SELECT version(), timezone()").split("\t")
        self._version, self._timezone = version, tz
        front = self

        class Handler(ClickHouseHandler):
            pass

        Handler.front = front
        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="clickhouse-http",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> ClickHouseHttpFront:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # -- engine ------------------------------------------------------------------------------
    def _run_simple(self, sql: str) -> str:
        with chdb_engine_lock(self.chdb_path):
            conn = chdb.connect(str(self.chdb_path))
            try:
                return conn.query(sql, "TabSeparated").bytes().decode().strip()
            finally:
                conn.close()

    def error_body(self, code: int, message: str) -> str:
        text = message if message.startswith("Code:") else f"Code: {code}. DB::Exception: {message}"
        return f"{text} (version {self._version})\n"
