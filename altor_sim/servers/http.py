"""The HTTP plumbing shared by the four vendor servers: request/response objects, a threaded
loopback server that records requests and injects failures, and small pagination helpers."""

from __future__ import annotations

import base64
import json
import logging
import re
import socket
import threading
import traceback
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit

if TYPE_CHECKING:
    from altor_sim.servers import DemoServers
    from altor_sim.world.reader import Collection

try:  # orjson (a dlt dependency) serialises large pages several times faster
    import orjson

    def dumps(obj: Any) -> bytes:
        return orjson.dumps(obj, option=orjson.OPT_NON_STR_KEYS)
except ImportError:  # pragma: no cover

    def dumps(obj: Any) -> bytes:
        return json.dumps(obj, separators=(",", ":")).encode()

log = logging.getLogger(__name__)


class BadRequest(Exception):
    """A parameter the vendor would reject; the app turns it into the vendor's error shape."""

    def __init__(self, message: str, param: str | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message, self.param, self.status = message, param, status


@dataclass
class Request:
    vendor: str
    method: str
    path: str
    query: dict[str, list[str]]
    headers: Any  # email.message.Message: case-insensitive .get()
    body: bytes
    base_url: str
    json: Any = None

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[-1] if values else default

    def q_int(self, name: str, default: int | None = None, param: str | None = None) -> int | None:
        raw = self.q(name)
        if raw is None or raw == "":
            return default
        try:
            return int(raw)
        except ValueError:
            raise BadRequest(f"Invalid integer: {raw}", param or name) from None

    def url(self, path: str | None = None, params: dict | list | None = None) -> str:
        base = self.base_url + (self.path if path is None else path)
        return base + ("?" + urlencode(params, doseq=True) if params else "")


@dataclass
class Response:
    status: int
    body: Any
    headers: dict[str, str] = field(default_factory=dict)


def b64(obj: Any) -> str:
    """An opaque cursor: url-safe base64 of compact JSON."""
    raw = json.dumps(obj, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def unb64(text: str) -> Any:
    try:
        pad = "=" * (-len(text) % 4)
        return json.loads(base64.urlsafe_b64decode(text + pad))
    except (ValueError, TypeError):
        raise BadRequest("invalid cursor", "cursor") from None


_BRACKET = re.compile(r"^([^\[\]]+)\[([^\[\]]*)\]$")


def bracket_params(query: dict[str, list[str]]) -> dict[str, Any]:
    """Rails/Stripe-style keys: `created[gte]=1` → {'created': {'gte': '1'}};
    `types[]=a&types[]=b` and `types[0]=a` → {'types': ['a', 'b']}; plain keys → last value."""
    out: dict[str, Any] = {}
    for key, values in query.items():
        m = _BRACKET.match(key)
        if not m:
            out[key] = values[-1]
            continue
        name, sub = m.groups()
        if sub == "" or sub.isdigit():
            cur = out.get(name)
            lst = cur if isinstance(cur, list) else []
            lst.extend(values)
            out[name] = lst
        else:
            cur = out.get(name)
            d = cur if isinstance(cur, dict) else {}
            d[sub] = values[-1]
            out[name] = d
    return out


class VendorApp:
    """One vendor's API. Subclasses implement `authenticate`, `handle` and `error_body`."""

    vendor = ""

    def __init__(self, servers: DemoServers) -> None:
        self.servers = servers
        self.world = servers.world

    @property
    def now(self) -> float:
        return self.servers.now

    def collection(self, kind: str) -> Collection:
        """This vendor's objects of one kind in the served world."""
        return self.world.collection(self.vendor, kind)

    def authenticate(self, req: Request) -> Response | None:  # None: authenticated
        raise NotImplementedError

    def handle(self, req: Request) -> Response:
        raise NotImplementedError

    def error_body(self, status: int) -> Any:
        """The vendor's error body for an injected failure with this status."""
        raise NotImplementedError


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _VendorHTTPServer

    def setup(self) -> None:
        super().setup()
        # headers and body go out in separate writes: without this, Nagle's algorithm and the
        # client's delayed ACK add ~40 ms to every keep-alive response
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:  # quiet by default
        log.debug("%s %s", self.server.app.vendor, format % args)

    def _dispatch(self) -> None:
        app = self.server.app
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        host = self.headers.get("Host") or "{}:{}".format(*self.server.server_address[:2])
        req = Request(
            vendor=app.vendor, method=self.command, path=parts.path,
            query=parse_qs(parts.query, keep_blank_values=True), headers=self.headers,
            body=body, base_url=f"http://{host}",
        )
        ctype = (self.headers.get("Content-Type") or "").lower()
        if body and ("json" in ctype or not ctype):
            try:
                req.json = json.loads(body)
            except ValueError:
                req.json = None
        elif body and "x-www-form-urlencoded" in ctype:
            req.json = None
        app.servers._record(req)
        try:
            injected = app.servers._take_failure(app.vendor, req.path)
            if injected is not None:
                headers = {"Retry-After": "1"} if injected == 429 else {}
                resp = Response(injected, app.error_body(injected), headers)
            else:
                resp = app.authenticate(req) or app.handle(req)
        except Exception:  # a bug in a server: answer like the vendor's 500, log the trace
            log.error("%s server error on %s %s\n%s", app.vendor, self.command, self.path,
                      traceback.format_exc())
            resp = Response(500, app.error_body(500))
        self._send(resp)

    def _send(self, resp: Response) -> None:
        if isinstance(resp.body, bytes | str):
            payload = resp.body.encode() if isinstance(resp.body, str) else resp.body
            ctype = resp.headers.pop("Content-Type", "text/plain; charset=utf-8")
        else:
            payload = dumps(resp.body)
            ctype = resp.headers.pop("Content-Type", "application/json; charset=utf-8")
        self.send_response(resp.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        for k, v in resp.headers.items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _dispatch


class _VendorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: VendorApp) -> None:
        self.app = app
        super().__init__(address, _Handler)


class VendorServer:
    """One app on one loopback port, served from a daemon thread."""

    def __init__(self, app: VendorApp, host: str, port: int) -> None:
        self.app = app
        self.httpd = _VendorHTTPServer((host, port), app)
        self.host, self.port = self.httpd.server_address[:2]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1},
            name=f"demo-{app.vendor}", daemon=True,
        )

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


def utcnow_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
