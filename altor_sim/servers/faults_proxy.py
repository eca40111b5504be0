"""A fault-injecting HTTP proxy for the simulation: it sits between a client (a source, the
write-back) and a served vendor (the demo servers, the ClickHouse HTTP front) and breaks chosen
requests the way real vendors and networks break them.

    with FaultProxy(servers.urls["github"], [Fault("vendor_rate_limit", path="/repos")],
                    vendor="github") as proxy:
        github_source(proxy.url, ...)

A `Fault` hits the `nth` request whose method and path match (and `times` requests from there;
`times=-1`: every one after). Kinds:

- `status`: answer `status` with the vendor's error body (no upstream call);
- `rate_limit`: HTTP 429 with `Retry-After: <retry_after>`;
- `vendor_rate_limit`: the vendor's own shape: Zendesk 429 + Retry-After, Stripe 429
  `rate_limit`, Linear HTTP 400 `extensions.code: RATELIMITED`, GitHub 403 with
  `x-ratelimit-remaining: 0` and `x-ratelimit-reset` (or, with `secondary=True`, 403 with
  `retry-after`), ClickHouse 503;
- `truncate`: the upstream answer, cut in the middle of its body (the connection then closes);
- `not_json`: 200 with an HTML error page;
- `delay`: the upstream answer after `delay` seconds (a client timeout shorter than that
  sees a timeout);
- `repeat`: the previous answer to the same path served again (a page served twice: its cursor
  is the one just used);
- `mutate`: the upstream JSON answer passed through `mutate(body)` (a field added, missing,
  renamed or wrong-typed);
- `error_in_200`: ClickHouse's error inside a 200 (`X-ClickHouse-Exception-Code`, the error
  text as the body);
- `after_upstream`: the request reaches the upstream (a write is applied), then the client
  gets `status` (or a cut body with `status=0`): the answer lost after the vendor acted.

Every request the proxy sees is kept in `seen` (method, path, query, fault kind or None).
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

KINDS = ("status", "rate_limit", "vendor_rate_limit", "truncate", "not_json", "delay", "repeat",
         "mutate", "error_in_200", "after_upstream")


@dataclass
class Fault:
    kind: str
    path: str = ""  # path prefix the fault applies to
    method: str | None = None
    nth: int = 1
    times: int = 1  # -1: every matching request from the nth on
    status: int = 500
    retry_after: str = "0"
    delay: float = 0.0
    secondary: bool = False
    mutate: Callable[[Any], Any] | None = None
    query_has: str | None = None  # only requests whose query string or body contains this
    body: bytes | None = None  # `status`: this body instead of the vendor's error body
    matched: int = field(default=0, init=False)
    fired: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; known: {KINDS}")

    def hits(self, method: str, path: str, query: str, body: bytes) -> bool:
        if self.method and self.method != method:
            return False
        if not path.startswith(self.path):
            return False
        if self.query_has and self.query_has not in query and \
                self.query_has.encode() not in body:
            return False
        self.matched += 1
        last = float("inf") if self.times < 0 else self.nth + self.times - 1
        if self.nth <= self.matched <= last:
            self.fired += 1
            return True
        return False


def error_body(vendor: str, status: int) -> tuple[dict[str, str], bytes]:
    """Headers and body of `status` as the vendor answers it."""
    if vendor == "zendesk":
        body: Any = {"error": "InternalError" if status >= 500 else "Forbidden",
                     "description": f"HTTP {status}"}
    elif vendor == "stripe":
        body = {"error": {"type": "api_error" if status >= 500 else "invalid_request_error",
                          "message": f"HTTP {status}"}}
    elif vendor == "linear":
        body = {"errors": [{"message": f"HTTP {status}",
                            "extensions": {"code": "INTERNAL_SERVER_ERROR"
                                           if status >= 500 else "FORBIDDEN"}}]}
    elif vendor == "github":
        body = {"message": "Server Error" if status >= 500 else "Forbidden",
                "status": str(status)}
    else:
        text = f"Code: 1000. DB::Exception: injected HTTP {status}. (POCO_EXCEPTION)"
        return ({"Content-Type": "text/plain", "X-ClickHouse-Exception-Code": "1000"},
                text.encode())
    return {"Content-Type": "application/json"}, json.dumps(body).encode()


def rate_limit_answer(vendor: str, fault: Fault) -> tuple[int, dict[str, str], bytes]:
    if vendor == "linear":
        body = {"errors": [{"message": "Rate limit exceeded",
                            "extensions": {"type": "ratelimited", "code": "RATELIMITED",
                                           "statusCode": 429, "userError": True}}]}
        return 400, {"Content-Type": "application/json"}, json.dumps(body).encode()
    if vendor == "github":
        body = {"message": "API rate limit exceeded for installation.",
                "documentation_url": "https://docs.github.com/rest/overview/rate-limits"}
        if fault.secondary:
            headers = {"retry-after": fault.retry_after}
        else:
            headers = {"x-ratelimit-limit": "5000", "x-ratelimit-remaining": "0",
                       "x-ratelimit-used": "5000",
                       "x-ratelimit-reset": str(int(time.time()) + int(fault.retry_after))}
        return 403, {"Content-Type": "application/json", **headers}, json.dumps(body).encode()
    if vendor == "stripe":
        body = {"error": {"code": "rate_limit", "type": "invalid_request_error",
                          "message": "Request rate limit exceeded."}}
        return 429, {"Content-Type": "application/json"}, json.dumps(body).encode()
    if vendor == "clickhouse":
        headers, text = error_body(vendor, 503)
        return 503, headers, text
    body = {"error": "APIRateLimitExceeded",
            "description": "Number of allowed API requests per minute exceeded"}
    return 429, {"Content-Type": "application/json", "Retry-After": fault.retry_after}, \
        json.dumps(body).encode()


_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection"}


class FaultProxy:
    """Loopback proxy to `upstream` (a base URL); `url` is the same base URL through it."""

    def __init__(self, upstream: str, faults: list[Fault] | None = None, vendor: str = "",
                 host: str = "127.0.0.1") -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname, parts.port or 80
        self.base_path = parts.path.rstrip("/")
        self.faults = list(faults or [])
        self.vendor = vendor
        self.seen: list[tuple[str, str, dict, str | None]] = []
        self._last: dict[str, tuple[int, list[tuple[str, str]], bytes]] = {}
        self._lock = threading.Lock()
        proxy = self

        class Handler(_ProxyHandler):
            owner = proxy

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.url = f"http://{host}:{self.port}{self.base_path}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05}, name="fault-proxy")
        self._thread.start()

    def fired(self) -> int:
        return sum(f.fired for f in self.faults)

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> FaultProxy:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- what one request gets -------------------------------------------------------------
    def choose(self, method: str, path: str, query: str, body: bytes) -> Fault | None:
        with self._lock:
            for f in self.faults:
                if f.hits(method, path, query, body):
                    return f
        return None

    def forward(self, method: str, target: str, headers: Any, body: bytes
                ) -> tuple[int, list[tuple[str, str]], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=120)
        try:
            out = {k: v for k, v in headers.items() if k.lower() not in _HOP}
            conn.request(method, target, body=body or None, headers=out)
            resp = conn.getresponse()
            data = resp.read()
            kept = [(k, v) for k, v in resp.getheaders() if k.lower() not in _HOP]
            return resp.status, kept, data
        finally:
            conn.close()


def _replay_key(path: str, body: bytes) -> str:
    """Pages of one listing share a key: the path, and for GraphQL the query text."""
    if body[:1] == b"{":
        try:
            return path + "|" + str(json.loads(body).get("query"))
        except (ValueError, AttributeError):
            pass
    return path


class _ProxyHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    owner: FaultProxy

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
        pass

    def _body(self) -> bytes:
        if (self.headers.get("Transfer-Encoding") or "").lower() == "chunked":
            out = b""
            while True:
                size = int(self.rfile.readline().strip() or b"0", 16)
                if size == 0:
                    self.rfile.readline()
                    return out
                out += self.rfile.read(size)
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def _answer(self, status: int, headers: list[tuple[str, str]] | dict[str, str], body: bytes,
                cut: bool = False) -> None:
        items = headers.items() if isinstance(headers, dict) else headers
        self.send_response(status)
        for k, v in items:
            if k.lower() not in _HOP:
                self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body[: max(1, len(body) // 2)] if cut else body)
        self.wfile.flush()
        self.close_connection = True

    def _handle(self) -> None:
        proxy = self.owner
        body = self._body()
        parts = urlsplit(self.path)
        fault = proxy.choose(self.command, parts.path, parts.query, body)
        with proxy._lock:
            proxy.seen.append((self.command, parts.path, parse_qs(parts.query),
                               fault.kind if fault else None))
        kind = fault.kind if fault else None
        vendor = proxy.vendor
        if kind == "status":
            headers, text = error_body(vendor, fault.status)
            text = fault.body if fault.body is not None else text
            if fault.status == 429:
                headers["Retry-After"] = fault.retry_after
            return self._answer(fault.status, headers, text)
        if kind == "rate_limit":
            headers, text = error_body(vendor, 429)
            return self._answer(429, {**headers, "Retry-After": fault.retry_after}, text)
        if kind == "vendor_rate_limit":
            return self._answer(*rate_limit_answer(vendor, fault))
        if kind == "not_json":
            page = b"<html><body><h1>502 Bad Gateway</h1></body></html>"
            return self._answer(200, {"Content-Type": "text/html"}, page)
        key = _replay_key(parts.path, body)
        if kind == "repeat":
            with proxy._lock:
                previous = proxy._last.get(key)
            if previous is not None:
                return self._answer(*previous)
        status, headers, data = proxy.forward(self.command, self.path, self.headers, body)
        if self.command == "GET" or proxy.vendor in ("linear", "clickhouse"):
            with proxy._lock:
                proxy._last[key] = (status, headers, data)
        if kind == "delay":
            time.sleep(fault.delay)
        if kind == "truncate":
            return self._answer(status, headers, data, cut=True)
        if kind == "after_upstream":
            if fault.status == 0:
                return self._answer(status, headers, data, cut=True)
            err_headers, text = error_body(vendor, fault.status)
            return self._answer(fault.status, err_headers, text)
        if kind == "error_in_200":
            text = (b"Code: 241. DB::Exception: Memory limit (total) exceeded: would use "
                    b"9.31 GiB. (MEMORY_LIMIT_EXCEEDED)")
            return self._answer(200, [("Content-Type", "text/plain"),
                                      ("X-ClickHouse-Exception-Code", "241")], data[:64] + text)
        if kind == "mutate" and status < 300:
            try:
                data = json.dumps(fault.mutate(json.loads(data))).encode()
            except ValueError:
                pass
        return self._answer(status, headers, data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle
