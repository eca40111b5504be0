"""The HTTP client every vendor source (and the help-desk write-back) uses: retries, secret
redaction, a host check, a guard on pagers. What becomes a row (validation, quarantine,
column hints) is `sources/records.py`.

- 429, and 403 that says it is a rate limit (`x-ratelimit-remaining: 0`, or `Retry-After`, as
  GitHub's primary and secondary limits answer): wait for `Retry-After` (seconds or an HTTP
  date) or `x-ratelimit-reset`, capped, then retry the same request.
- 5xx, connection errors, timeouts, a body cut short and a 2xx body that is not JSON: retry
  with exponential backoff (all bounded by `max_retries`).
- Anything else that is not 2xx: `SourceError` naming source and endpoint at once (no retry).
- A token never appears in a message: `redact` removes every secret the client was given.
- The token is only ever sent to the configured host: a next-page URL from a response that
  names another scheme, host or port is refused (`SourceError`), not followed.
- `Progress` guards every pager: a cursor (or next URL) met again means the vendor served a
  page twice; the page is asked for again, and a cursor that still does not move is an error,
  never an endless loop.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import requests

from altor_pipelines.errors import SourceError
from altor_pipelines.settings import Secret

log = logging.getLogger(__name__)

RETRYABLE = {500, 502, 503, 504}


def as_secret(value: Secret | str) -> Secret:
    return value if isinstance(value, Secret) else Secret(str(value))


def redact(text: str, secrets: Iterable[Secret]) -> str:
    for s in secrets:
        raw = s.reveal() if s else ""
        if raw and len(raw) >= 4:
            text = text.replace(raw, "***")
    return text


def _rate_limit_wait(resp: requests.Response, default: float) -> float | None:
    """Seconds to wait if `resp` is a rate-limit answer (429, or a 403 carrying GitHub's
    rate-limit headers), else None."""
    headers = resp.headers
    retry_after = headers.get("Retry-After")
    if resp.status_code == 429:
        return _retry_after(retry_after, default)
    if resp.status_code != 403:
        return None
    if retry_after:
        return _retry_after(retry_after, default)
    if headers.get("x-ratelimit-remaining") == "0":
        try:
            return max(0.0, float(headers.get("x-ratelimit-reset", "")) - time.time())
        except ValueError:
            return default
    return None


def _retry_after(value: str | None, default: float) -> float:
    if not value:
        return default
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
        return max(0.0, (when - datetime.now(UTC)).total_seconds())
    except (TypeError, ValueError):
        return default


class HttpClient:
    """A `requests` session for one vendor. `auth_headers` holds the one place a token is sent."""

    def __init__(
        self,
        source: str,
        base_url: str,
        auth_headers: Mapping[str, str],
        secrets: Iterable[Secret],
        *,
        extra_headers: Mapping[str, str] | None = None,
        max_retries: int = 5,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        max_retry_after_seconds: float = 300.0,
        timeout: float = 60.0,
    ) -> None:
        self.source = source
        self.base_url = base_url.rstrip("/")
        base = urlsplit(self.base_url)
        self._origin = (base.scheme, base.netloc.lower())
        self.secrets = list(secrets)
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_retry_after_seconds = max_retry_after_seconds
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": "altor-pipelines", **(extra_headers or {})})
        self.session.headers.update(auth_headers)

    def url(self, path_or_url: str, endpoint: str | None = None) -> str:
        """The absolute URL; a full URL (a next page from a response) only on the configured
        scheme, host and port, so the token never travels elsewhere."""
        if "://" in path_or_url or path_or_url.startswith("//"):
            parts = urlsplit(path_or_url)
            if (parts.scheme, parts.netloc.lower()) != self._origin:
                raise self.error(f"refusing to follow a URL on another host "
                                 f"({parts.scheme}://{parts.hostname}) with our credentials",
                                 endpoint=endpoint, field="next page URL")
            return path_or_url
        return self.base_url + path_or_url

    def error(self, message: str, *, endpoint: str | None = None, record: Any = None,
              field: str | None = None, status: int | None = None) -> SourceError:
        return SourceError(self.source, redact(message, self.secrets), endpoint=endpoint,
                           record=record, field=field, status=status)

    def request(
        self,
        method: str,
        path_or_url: str,
        *,
        endpoint: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        accept: frozenset[int] = frozenset(),
        record: Any = None,
        retries: int | None = None,
        parse_json: bool = False,
    ) -> requests.Response:
        """One request, retried on rate limits/5xx/connection errors (and, with `parse_json`,
        on a body that is cut short or not JSON: `resp.parsed` holds it); returns a 2xx
        response (or one whose status is in `accept`, e.g. a GraphQL 400 carrying `errors`).
        `retries` overrides `max_retries` (0: send once, e.g. a write that must not be
        repeated blindly)."""
        url = self.url(path_or_url, endpoint)
        limit = self.max_retries if retries is None else retries
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self.session.request(method, url, params=params, json=json_body,
                                            timeout=self.timeout)
                if parse_json and (resp.status_code < 300 or resp.status_code in accept):
                    resp.parsed = resp.json()  # type: ignore[attr-defined]
            except (requests.RequestException, ValueError) as exc:
                not_json = isinstance(exc, requests.exceptions.InvalidJSONError) or not \
                    isinstance(exc, requests.RequestException)
                what = ("response is not JSON" if not_json
                        else f"connection failed: {type(exc).__name__}")
                if attempt > limit:
                    raise self.error(f"{what} (after {attempt} attempt(s))", endpoint=endpoint,
                                     record=record) from None
                self._sleep(self._backoff(attempt), endpoint, what)
                continue
            if resp.status_code < 300 or resp.status_code in accept:
                return resp
            wait = _rate_limit_wait(resp, self._backoff(attempt))
            if wait is not None and attempt <= limit:
                self._sleep(min(wait, self.max_retry_after_seconds), endpoint,
                            f"{resp.status_code} rate limited")
                continue
            if resp.status_code in RETRYABLE and attempt <= limit:
                self._sleep(self._backoff(attempt), endpoint, str(resp.status_code))
                continue
            body = resp.text[:300].replace("\n", " ")
            raise self.error(f"HTTP {resp.status_code} after {attempt} attempt(s): {body}",
                             endpoint=endpoint, record=record, status=resp.status_code)

    def get_json(self, path_or_url: str, *, endpoint: str,
                 params: Mapping[str, Any] | None = None,
                 record: Any = None) -> tuple[Any, requests.Response]:
        resp = self.request("GET", path_or_url, endpoint=endpoint, params=params, record=record,
                            parse_json=True)
        return resp.parsed, resp  # type: ignore[attr-defined]

    def post_json(self, path_or_url: str, body: Any, *, endpoint: str,
                  accept: frozenset[int] = frozenset()) -> Any:
        return self.request("POST", path_or_url, endpoint=endpoint, json_body=body,
                            accept=accept, parse_json=True).parsed  # type: ignore[attr-defined]

    def backoff(self, attempt: int, endpoint: str, why: str) -> None:
        """Wait before attempt `attempt + 1` of something the caller retries itself."""
        self._sleep(self._backoff(attempt), endpoint, why)

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * (2 ** (attempt - 1)), self.max_backoff_seconds)

    def _sleep(self, seconds: float, endpoint: str, why: str) -> None:
        log.info("%s %s: %s, retrying in %.1fs", self.source, endpoint, why, seconds)
        time.sleep(seconds)


class Progress:
    """Guards one pager against a vendor that serves a page twice or returns the cursor it
    was given: `moved(cursor)` is True for a cursor not met before; a repeat lets the caller
    ask for the page again, up to `client.max_retries` times in a row, then raises."""

    def __init__(self, client: HttpClient, endpoint: str, record: Any = None) -> None:
        self.client, self.endpoint, self.record = client, endpoint, record
        self.seen: set[str] = set()
        self.stuck = 0

    def moved(self, cursor: Any) -> bool:
        key = json.dumps(cursor, sort_keys=True, default=str)
        if key not in self.seen:
            self.seen.add(key)
            self.stuck = 0
            return True
        self.stuck += 1
        if self.stuck > self.client.max_retries:
            raise self.client.error(
                f"the cursor did not advance after {self.stuck} attempt(s): the vendor keeps "
                "returning a page already read", endpoint=self.endpoint, record=self.record,
                field="cursor")
        self.client.backoff(self.stuck, self.endpoint, "page served twice")
        return False


def require(envelope: Any, key: str, client: HttpClient, endpoint: str) -> Any:
    """`envelope[key]`, or a SourceError naming the missing field of the response."""
    if not isinstance(envelope, dict) or key not in envelope:
        raise client.error("response lacks a required field", endpoint=endpoint, field=key)
    return envelope[key]


def to_unix(value: datetime | int | float | str | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return int(value.timestamp())
    if isinstance(value, str):
        return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp())
    return int(value)
