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
uncompressed, which the client accepts), sessions
(`session_id` is accepted and ignored; every request gets a fresh engine handle), the
`client_protocol_version` block-info framing (the client then falls back to protocol 0, as it
does behind proxies).

Statements run under the same per-path lock as `ClickHouseAccess`, so the front and in-process
users of the engine never interleave.
"""

from __future__ import annotations

import base64
import email.parser
import email.policy
import json
import logging
import re
import secrets
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import chdb
from clickhouse_connect.driver._backend.httpcommon import decompress_response

from altor_pipelines.warehouse.clickhouse import chdb_engine_lock

log = logging.getLogger(__name__)

# URL parameters that are not ClickHouse settings (the HTTP handler consumes them).
_TRANSPORT_PARAMS = {
    "query", "database", "default_format", "query_id", "session_id", "session_timeout",
    "session_check", "compress", "decompress", "buffer_size", "wait_end_of_query",
    "client_protocol_version", "role", "quota_key", "user", "password",
    "enable_http_compression", "send_progress_in_http_headers",
    "http_headers_progress_interval_ms", "http_zlib_compression_level",
    "cancel_http_readonly_queries_on_client_close", "max_result_bytes", "result_overflow_mode",
}
_STREAMABLE = {"Native", "TabSeparated", "TSV", "CSV", "RowBinary", "JSONEachRow",
               "TabSeparatedWithNames", "TSVWithNames"}
_CONTENT_TYPES = {
    "TabSeparated": "text/tab-separated-values; charset=UTF-8",
    "TSV": "text/tab-separated-values; charset=UTF-8",
    "TabSeparatedWithNames": "text/tab-separated-values; charset=UTF-8",
    "CSV": "text/csv; charset=UTF-8; header=absent",
    "JSON": "application/json; charset=UTF-8",
    "JSONEachRow": "application/x-ndjson; charset=UTF-8",
    "JSONCompact": "application/json; charset=UTF-8",
}
# ClickHouse's exceptionCodeToHTTPStatus (src/Server/HTTP/exceptionCodeToHTTPStatus.cpp), by
# error name (chDB messages end with the name in parentheses).
_STATUS_BY_NAME = {
    **dict.fromkeys(["REQUIRED_PASSWORD"], 401),
    **dict.fromkeys(["UNKNOWN_USER", "WRONG_PASSWORD", "AUTHENTICATION_FAILED",
                     "SET_NON_GRANTED_ROLE", "ACCESS_DENIED"], 403),
    **dict.fromkeys([
        "BAD_ARGUMENTS", "CANNOT_COMPILE_REGEXP", "CANNOT_PARSE_TEXT",
        "CANNOT_PARSE_ESCAPE_SEQUENCE", "CANNOT_PARSE_QUOTED_STRING", "CANNOT_PARSE_DATE",
        "CANNOT_PARSE_DATETIME", "CANNOT_PARSE_NUMBER", "CANNOT_PARSE_DOMAIN_VALUE_FROM_STRING",
        "CANNOT_PARSE_IPV4", "CANNOT_PARSE_IPV6", "CANNOT_PARSE_INPUT_ASSERTION_FAILED",
        "CANNOT_PARSE_UUID", "DUPLICATE_COLUMN", "ILLEGAL_COLUMN", "UNKNOWN_ELEMENT_IN_AST",
        "UNKNOWN_TYPE_OF_AST_NODE", "THERE_IS_NO_COLUMN", "TOO_DEEP_AST", "TOO_BIG_AST",
        "UNEXPECTED_AST_STRUCTURE", "SYNTAX_ERROR", "INCORRECT_DATA", "TYPE_MISMATCH",
        "VALUE_IS_OUT_OF_RANGE_OF_DATA_TYPE"], 400),
    **dict.fromkeys([
        "UNKNOWN_TABLE", "UNKNOWN_FUNCTION", "UNKNOWN_IDENTIFIER", "UNKNOWN_TYPE",
        "UNKNOWN_STORAGE", "UNKNOWN_DATABASE", "UNKNOWN_SETTING", "UNKNOWN_DIRECTION_OF_SORTING",
        "UNKNOWN_AGGREGATE_FUNCTION", "UNKNOWN_FORMAT", "UNKNOWN_DATABASE_ENGINE",
        "UNKNOWN_TYPE_OF_QUERY", "UNKNOWN_ROLE"], 404),
    "QUERY_IS_TOO_LARGE": 413,
    "NOT_IMPLEMENTED": 501,
    "SOCKET_TIMEOUT": 503,
    "CANNOT_OPEN_FILE": 503,
    "TIMEOUT_EXCEEDED": 408,
    "CANNOT_SCHEDULE_TASK": 503,
    "UNSUPPORTED_MEDIA_TYPE": 415,
}
_RESULT_KINDS = {"SELECT", "WITH", "SHOW", "DESCRIBE", "DESC", "EXISTS", "EXPLAIN", "CHECK"}
_TRAILING_FORMAT = re.compile(r"\bFORMAT\s+(\w+)\s*;?\s*$", re.IGNORECASE)
_INSERT_FORMAT = re.compile(r"^\s*(INSERT\s+INTO\s+.+?)\s+FORMAT\s+(\w+)[ \t]*(?:\r?\n|$)",
                            re.IGNORECASE | re.DOTALL)
_CODE = re.compile(r"Code:\s*(\d+)")
_NAME = re.compile(r"\(([A-Z][A-Z0-9_]+)\)\s*(?:\(version [^)]*\))?\s*$")
_SETTING_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_COMMENT = re.compile(r"(--[^\n]*\n?)|(/\*.*?\*/)", re.DOTALL)


class ClickHouseHttpError(Exception):
    def __init__(self, code: int, name: str, message: str) -> None:
        super().__init__(message)
        self.code, self.name, self.message = code, name, message


@dataclass(frozen=True)
class ReceivedRequest:
    """What the front received (for tests asserting how the client talks to ClickHouse)."""

    query: str
    params: dict[str, str]  # the `param_<name>` values, by name
    settings: dict[str, str]
    database: str | None


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

        class Handler(_Handler):
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


def _engine_error(exc: Exception) -> ClickHouseHttpError:
    text = str(exc)
    at = text.find("Code: ")
    text = (text[at:] if at >= 0 else text).strip()
    code_match, name_match = _CODE.search(text), _NAME.search(text)
    code = int(code_match.group(1)) if code_match else 1001
    name = name_match.group(1) if name_match else "STD_EXCEPTION"
    return ClickHouseHttpError(code, name, text)


def _form_fields(content_type: str, body: bytes) -> dict[str, bytes]:
    """The fields of a multipart/form-data body; a file field is refused (external data)."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, bytes] = {}
    for part in message.iter_parts():
        if part.get_filename():
            raise ClickHouseHttpError(48, "NOT_IMPLEMENTED",
                                      "external data is not supported by this front")
        name = part.get_param("name", header="content-disposition")
        fields[str(name)] = part.get_payload(decode=True) or b""
    return fields


def _decompress(data: bytes, encoding: str | None) -> bytes:
    try:
        return decompress_response(data, encoding)
    except Exception as exc:  # noqa: BLE001
        raise ClickHouseHttpError(48, "NOT_IMPLEMENTED",
                                  f"Cannot decode Content-Encoding {encoding}: {exc}") from exc


def _statement_kind(sql: str) -> str:
    stripped = _COMMENT.sub(" ", sql).lstrip(" \t\r\n(")
    return stripped.split(None, 1)[0].upper() if stripped else ""


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class _Handler(BaseHTTPRequestHandler):
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
            self._send(_STATUS_BY_NAME.get(err.name, 500), body, headers)

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
            body = _decompress(raw_body, self.headers.get("Content-Encoding"))
            content_type = self.headers.get("Content-Type", "")
            if content_type.startswith("multipart/form-data"):
                fields = _form_fields(content_type, body)
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
                    if k not in _TRANSPORT_PARAMS and not k.startswith(("param_", "http_"))}
        database = params.get("database")
        default_format = params.get("default_format", "TabSeparated")
        url_query = params.get("query", "")
        insert_data: bytes | None = None
        insert = _INSERT_FORMAT.match(url_query) if url_query else None
        if insert:
            sql, insert_data = url_query, body
        elif not url_query and body[:64].lstrip().upper().startswith(b"INSERT"):
            head = body[:65536].decode("utf-8", errors="replace")
            insert = _INSERT_FORMAT.match(head)
            if insert:
                cut = len(insert.group(0).encode())
                sql, insert_data = insert.group(0).strip(), body[cut:]
            else:
                sql = body.decode()
        else:
            sql = url_query + ("\n" if url_query and body else "") + body.decode()
        self.front.received.append(ReceivedRequest(sql, bind, settings, database))
        for name in settings:
            if not _SETTING_NAME.match(name):
                raise ClickHouseHttpError(115, "UNKNOWN_SETTING", f"Unknown setting {name}")

        if insert is not None and insert_data is not None:
            self._run_insert(insert.group(1), insert.group(2), insert_data, settings, database,
                             query_id)
            return
        trailing = _TRAILING_FORMAT.search(sql)
        fmt = trailing.group(1) if trailing else default_format
        kind = _statement_kind(sql)
        stream = (params.get("wait_end_of_query") != "1" and kind in _RESULT_KINDS
                  and fmt in _STREAMABLE)
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
                    raise _engine_error(exc) from exc
                payload = result.bytes() or b""
                headers = self._common_headers(query_id)
                headers["X-ClickHouse-Summary"] = json.dumps(self._summary(result, started))
                if kind in _RESULT_KINDS or trailing:
                    headers["X-ClickHouse-Format"] = fmt
                    headers["Content-Type"] = _CONTENT_TYPES.get(fmt, "application/octet-stream")
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
                conn.query(f"SET {name} = {_quote(value)}", "TabSeparated")
        except Exception as exc:  # noqa: BLE001
            conn.close()
            raise _engine_error(exc) from exc
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
            sql = f"{head} FROM INFILE {_quote(tmp.name)} FORMAT {fmt}"
            with chdb_engine_lock(self.front.chdb_path):
                conn = self._open(settings, database)
                try:
                    result = conn.query(sql, "TabSeparated")
                except Exception as exc:  # noqa: BLE001
                    raise _engine_error(exc) from exc
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
            raise _engine_error(exc) from exc
        tag = secrets.token_hex(8)
        self.send_response(200)
        for k, v in self._common_headers(query_id).items():
            self.send_header(k, v)
        self.send_header("X-ClickHouse-Format", fmt)
        self.send_header("X-ClickHouse-Exception-Tag", tag)
        self.send_header("Content-Type", _CONTENT_TYPES.get(fmt, "application/octet-stream"))
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
                err = _engine_error(exc)
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
