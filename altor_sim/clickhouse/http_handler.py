"""How the ClickHouse HTTP double (`http_double.py`) answers one request."""

from __future__ import annotations

import base64
import json
import logging
import secrets
import tempfile
import time
import uuid
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import chdb

from altor_pipelines.warehouse.clickhouse import chdb_engine_lock
from altor_sim.clickhouse.http_protocol import (
    CONTENT_TYPES,
    INSERT_FORMAT,
    RESULT_KINDS,
    SETTING_NAME,
    STATUS_BY_NAME,
    STREAMABLE,
    TRAILING_FORMAT,
    TRANSPORT_PARAMS,
    ClickHouseHttpError,
    decompress,
    engine_error,
    form_fields,
    quote_literal,
    statement_kind,
)

if TYPE_CHECKING:
    from altor_sim.clickhouse.http_double import ClickHouseHttpFront

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ReceivedRequest:
    """What the front received (for tests asserting how the client talks to ClickHouse)."""

    query: str
    params: dict[str, str]  # the `param_<name>` values, by name
    settings: dict[str, str]
    database: str | None


class ClickHouseHandler(BaseHTTPRequestHandler):
    """One HTTP request to the front: auth, the statement and its parameters, the engine's
    answer (whole or streamed block by block) or its error, as ClickHouse sends them."""

    front: ClickHouseHttpFront
    protocol_version = "HTTP/1.1"
    server_version = "ClickHouse"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        log.debug("clickhouse-http: " + format, *args)

    # -- plumbing ----------------------------------------------------------------------------
    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    break
                parts.append(self.rfile.read(size))
                self.rfile.readline()
            return b"".join(parts)
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _common_headers(self, query_id: str) -> dict[str, str]:
        return {"X-ClickHouse-Server-Display-Name": "altor-chdb-front",
                "X-ClickHouse-Query-Id": query_id,
                "X-ClickHouse-Timezone": self.front._timezone,
                "Date": self.date_time_string()}

    def _send_error(self, err: ClickHouseHttpError, query_id: str) -> None:
        body = self.front.error_body(err.code, err.message).encode()
        headers = {**self._common_headers(query_id),
                   "Content-Type": "text/plain; charset=UTF-8",
                   "X-ClickHouse-Exception-Code": str(err.code)}
        if self.front.headers_sent_before_errors:
            headers["X-ClickHouse-Progress"] = json.dumps(
                {"read_rows": "0", "read_bytes": "0", "total_rows_to_read": "0",
                 "elapsed_ns": "1000000"})
            self._send(200, body, headers)
        else:
            self._send(STATUS_BY_NAME.get(err.name, 500), body, headers)

    def _authenticate(self, params: dict[str, str]) -> str:
        user = password = None
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Basic "):
            try:
                user, _, password = base64.b64decode(auth[6:]).decode().partition(":")
            except (ValueError, UnicodeDecodeError) as exc:
                raise ClickHouseHttpError(516, "AUTHENTICATION_FAILED",
                                          "Bad Authorization header") from exc
        elif "X-ClickHouse-User" in self.headers:
            user, password = self.headers["X-ClickHouse-User"], self.headers.get("X-ClickHouse-Key")
        elif "user" in params:
            user, password = params["user"], params.get("password")
        user = user or "default"
        expected = self.front.users.get(user)
        if password is None:
            password = ""
            if expected:
                raise ClickHouseHttpError(194, "REQUIRED_PASSWORD",
                                          f"{user}: Authentication failed: password is required. "
                                          "(REQUIRED_PASSWORD)")
        if expected is None or not secrets.compare_digest(password.encode(), expected.encode()):
            raise ClickHouseHttpError(
                516, "AUTHENTICATION_FAILED",
                f"{user}: Authentication failed: password is incorrect, or there is no user with "
                "such name. (AUTHENTICATION_FAILED)")
        return user

    # -- HTTP verbs --------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self._handle(b"")

    def do_HEAD(self) -> None:  # noqa: N802
        self._handle(b"")

    def do_POST(self) -> None:  # noqa: N802
        self._handle(self._read_body())

    def _handle(self, raw_body: bytes) -> None:
        url = urlsplit(self.path)
        params = dict(parse_qsl(url.query, keep_blank_values=True))
        query_id = params.get("query_id") or str(uuid.uuid4())
        if url.path in ("/ping", "/replicas_status") or (url.path == "/" and not params.get("query")
                                                          and not raw_body):
            self._send(200, b"Ok.\n", {"Content-Type": "text/html; charset=UTF-8"})
            return
        if url.path != "/":
            self._send(404, f"There is no handle {url.path}\n\nUse / or /ping for health checks.\n"
                       .encode(), {"Content-Type": "text/plain; charset=UTF-8"})
            return
        try:
            self._authenticate(params)
            body = decompress(raw_body, self.headers.get("Content-Encoding"))
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("multipart/form-data"):
                fields = form_fields(content_type, body)
                body = fields.pop("query", b"")
                params.update({k: v.decode() for k, v in fields.items()})
            self._execute(params, body, query_id)
        except ClickHouseHttpError as err:
            self._send_error(err, query_id)
        except Exception as exc:  # noqa: BLE001 - the client gets a ClickHouse-shaped error
            log.exception("clickhouse-http: unexpected failure")
            self._send_error(ClickHouseHttpError(1001, "STD_EXCEPTION", repr(exc)), query_id)

    # -- execution ---------------------------------------------------------------------------
    def _execute(self, params: dict[str, str], body: bytes, query_id: str) -> None:
        bind = {k[6:]: v for k, v in params.items() if k.startswith("param_")}
        settings = {k: v for k, v in params.items()
                    if k not in TRANSPORT_PARAMS and not k.startswith(("param_", "http_"))}
        database = params.get("database")
        default_format = params.get("default_format", "TabSeparated")
        url_query = params.get("query", "")
        insert_data: bytes | None = None
        insert = INSERT_FORMAT.match(url_query) if url_query else None
        if insert:
            sql, insert_data = url_query, body
        elif not url_query and body[:64].lstrip().upper().startswith(b"INSERT"):
            head = body[:65536].decode("utf-8", errors="replace")
            insert = INSERT_FORMAT.match(head)
            if insert:
                cut = len(insert.group(0).encode())
                sql, insert_data = insert.group(0).strip(), body[cut:]
            else:
                sql = body.decode()
        else:
            sql = url_query + ("\n" if url_query and body else "") + body.decode()
        self.front.received.append(ReceivedRequest(sql, bind, settings, database))
        for name in settings:
            if not SETTING_NAME.match(name):
                raise ClickHouseHttpError(115, "UNKNOWN_SETTING", f"Unknown setting {name}")

        if insert is not None and insert_data is not None:
            self._run_insert(insert.group(1), insert.group(2), insert_data, settings, database,
                             query_id)
            return
        trailing = TRAILING_FORMAT.search(sql)
        fmt = trailing.group(1) if trailing else default_format
        kind = statement_kind(sql)
        stream = (params.get("wait_end_of_query") != "1" and kind in RESULT_KINDS
                  and fmt in STREAMABLE)
        lock = chdb_engine_lock(self.front.chdb_path)
        with lock:
            conn = self._open(settings, database)
            try:
                if stream:
                    self._stream(conn, sql, fmt, bind, query_id)
                    return
                started = time.perf_counter()
                try:
                    result = conn.query(sql, fmt, params=bind)
                except Exception as exc:  # noqa: BLE001
                    raise engine_error(exc) from exc
                payload = result.bytes() or b""
                headers = self._common_headers(query_id)
                headers["X-ClickHouse-Summary"] = json.dumps(self._summary(result, started))
                if kind in RESULT_KINDS or trailing:
                    headers["X-ClickHouse-Format"] = fmt
                    headers["Content-Type"] = CONTENT_TYPES.get(fmt, "application/octet-stream")
                else:
                    headers["Content-Type"] = "text/plain; charset=UTF-8"
                self._send(200, payload, headers)
            finally:
                conn.close()

    def _open(self, settings: dict[str, str], database: str | None) -> Any:
        conn = chdb.connect(str(self.front.chdb_path))
        try:
            if database:
                conn.query(f"USE `{database.replace('`', '``')}`", "TabSeparated")
            for name, value in settings.items():
                conn.query(f"SET {name} = {quote_literal(value)}", "TabSeparated")
        except Exception as exc:  # noqa: BLE001
            conn.close()
            raise engine_error(exc) from exc
        return conn

    @staticmethod
    def _summary(result: Any, started: float, written: bool = False) -> dict[str, str]:
        try:
            rows, size = str(result.rows_read()), str(result.bytes_read())
        except Exception:  # noqa: BLE001
            rows, size = "0", "0"
        out = {"read_rows": rows, "read_bytes": size, "written_rows": "0", "written_bytes": "0",
               "total_rows_to_read": rows, "result_rows": "0", "result_bytes": "0",
               "elapsed_ns": str(int((time.perf_counter() - started) * 1e9))}
        if written:
            out["written_rows"], out["written_bytes"] = rows, size
        return out

    def _run_insert(self, head: str, fmt: str, data: bytes, settings: dict[str, str],
                    database: str | None, query_id: str) -> None:
        started = time.perf_counter()
        with tempfile.NamedTemporaryFile(suffix=".insert") as tmp:
            tmp.write(data)
            tmp.flush()
            sql = f"{head} FROM INFILE {quote_literal(tmp.name)} FORMAT {fmt}"
            with chdb_engine_lock(self.front.chdb_path):
                conn = self._open(settings, database)
                try:
                    result = conn.query(sql, "TabSeparated")
                except Exception as exc:  # noqa: BLE001
                    raise engine_error(exc) from exc
                finally:
                    conn.close()
        headers = self._common_headers(query_id)
        headers["X-ClickHouse-Summary"] = json.dumps(self._summary(result, started, written=True))
        headers["Content-Type"] = "text/plain; charset=UTF-8"
        self._send(200, b"", headers)

    def _stream(self, conn: Any, sql: str, fmt: str, bind: dict[str, str], query_id: str) -> None:
        """Stream a result block by block; an error after the first block goes into the body."""
        try:
            blocks = conn.send_query(sql, fmt, params=bind)
            first = next(iter_blocks := _blocks(blocks), None)
        except Exception as exc:  # noqa: BLE001 - nothing sent yet: a normal error response
            raise engine_error(exc) from exc
        tag = secrets.token_hex(8)
        self.send_response(200)
        for k, v in self._common_headers(query_id).items():
            self.send_header(k, v)
        self.send_header("X-ClickHouse-Format", fmt)
        self.send_header("X-ClickHouse-Exception-Tag", tag)
        self.send_header("Content-Type", CONTENT_TYPES.get(fmt, "application/octet-stream"))
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()

        def chunk(data: bytes) -> None:
            if data:
                self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")

        if first is not None:
            chunk(first)
            try:
                for block in iter_blocks:
                    chunk(block)
            except Exception as exc:  # noqa: BLE001 - mid-stream: the tagged exception block
                err = engine_error(exc)
                message = self.front.error_body(err.code, err.message).rstrip("\n")
                chunk(f"__exception__\r\n{tag}\r\n{message}\n{len(message)} {tag}\r\n"
                      "__exception__\r\n".encode())
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()


def _blocks(streaming: Any):
    try:
        for block in streaming:
            payload = block.bytes() if hasattr(block, "bytes") else bytes(block)
            if payload:
                yield payload
    finally:
        close = getattr(streaming, "close", None)
        if close is not None:
            close()
