"""What every vendor source shares: an HTTP client with retries and secret redaction, and the
quarantine table for records that cannot be loaded.

- 429: wait for `Retry-After` (seconds or an HTTP date), then retry the same request.
- 5xx and connection errors: retry with exponential backoff.
- Anything else that is not 2xx: `SourceError` naming source and endpoint at once (no retry).
- A token never appears in a message: `redact` removes every secret the client was given.
"""

from __future__ import annotations

import email.utils
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

import dlt
import requests

from altor_pipelines.errors import SourceError
from altor_pipelines.settings import Secret

log = logging.getLogger(__name__)

QUARANTINE_TABLE = "_quarantine"
RETRYABLE = {500, 502, 503, 504}


def as_secret(value: Secret | str) -> Secret:
    return value if isinstance(value, Secret) else Secret(str(value))


def redact(text: str, secrets: Iterable[Secret]) -> str:
    for s in secrets:
        raw = s.reveal() if s else ""
        if raw and len(raw) >= 4:
            text = text.replace(raw, "***")
    return text


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
        self.secrets = list(secrets)
        self.max_retries = max_retries
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.max_retry_after_seconds = max_retry_after_seconds
        self.timeout = timeout
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": "altor-pipelines", **(extra_headers or {})})
        self.session.headers.update(auth_headers)

    def url(self, path_or_url: str) -> str:
        if path_or_url.startswith(("http://", "https://")):
            return path_or_url
        return self.base_url + path_or_url

    def error(self, message: str, *, endpoint: str | None = None, record: Any = None,
              field: str | None = None) -> SourceError:
        return SourceError(self.source, redact(message, self.secrets), endpoint=endpoint,
                           record=record, field=field)

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
    ) -> requests.Response:
        """One request, retried on 429/5xx/connection errors; returns a 2xx response (or one
        whose status is in `accept`, e.g. a GraphQL 400 carrying `errors`)."""
        url = self.url(path_or_url)
        attempt = 0
        while True:
            attempt += 1
            try:
                resp = self.session.request(method, url, params=params, json=json_body,
                                            timeout=self.timeout)
            except requests.RequestException as exc:
                if attempt > self.max_retries:
                    raise self.error(f"connection failed after {attempt} attempts: "
                                     f"{type(exc).__name__}", endpoint=endpoint,
                                     record=record) from None
                self._sleep(self._backoff(attempt), endpoint, type(exc).__name__)
                continue
            if resp.status_code < 300 or resp.status_code in accept:
                return resp
            if resp.status_code == 429 and attempt <= self.max_retries:
                wait = _retry_after(resp.headers.get("Retry-After"), self._backoff(attempt))
                self._sleep(min(wait, self.max_retry_after_seconds), endpoint, "429")
                continue
            if resp.status_code in RETRYABLE and attempt <= self.max_retries:
                self._sleep(self._backoff(attempt), endpoint, str(resp.status_code))
                continue
            body = resp.text[:300].replace("\n", " ")
            raise self.error(f"HTTP {resp.status_code} after {attempt} attempt(s): {body}",
                             endpoint=endpoint, record=record)

    def get_json(self, path_or_url: str, *, endpoint: str,
                 params: Mapping[str, Any] | None = None,
                 record: Any = None) -> tuple[Any, requests.Response]:
        resp = self.request("GET", path_or_url, endpoint=endpoint, params=params, record=record)
        return self._json(resp, endpoint), resp

    def post_json(self, path_or_url: str, body: Any, *, endpoint: str,
                  accept: frozenset[int] = frozenset()) -> Any:
        return self._json(self.request("POST", path_or_url, endpoint=endpoint, json_body=body,
                                       accept=accept), endpoint)

    def _json(self, resp: requests.Response, endpoint: str) -> Any:
        try:
            return resp.json()
        except ValueError:
            raise self.error("response is not JSON", endpoint=endpoint) from None

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * (2 ** (attempt - 1)), self.max_backoff_seconds)

    def _sleep(self, seconds: float, endpoint: str, why: str) -> None:
        log.info("%s %s: %s, retrying in %.1fs", self.source, endpoint, why, seconds)
        time.sleep(seconds)


def require(envelope: Any, key: str, client: HttpClient, endpoint: str) -> Any:
    """`envelope[key]`, or a SourceError naming the missing field of the response."""
    if not isinstance(envelope, dict) or key not in envelope:
        raise client.error("response lacks a required field", endpoint=endpoint, field=key)
    return envelope[key]


_QUARANTINE_HINTS = dlt.mark.make_hints(
    table_name=QUARANTINE_TABLE,
    write_disposition="merge",
    primary_key="quarantine_id",
    columns={"record": {"data_type": "json"}},
)


def quarantine(source: str, endpoint: str, record: Any, reason: str, field: str | None) -> Any:
    """A row for the `_quarantine` table (merged on a hash of endpoint and record, so a record
    met again is not stored twice), to be yielded from any resource."""
    text = json.dumps(record, sort_keys=True, default=str)
    row = {
        "quarantine_id": hashlib.sha256(f"{source}|{endpoint}|{text}".encode()).hexdigest()[:32],
        "source": source,
        "endpoint": endpoint,
        "field": field,
        "reason": reason,
        "record": record,
        "quarantined_at": datetime.now(UTC).replace(tzinfo=None).isoformat(),
    }
    log.warning("%s %s: record quarantined (%s, field=%s)", source, endpoint, reason, field)
    return dlt.mark.with_hints(row, _QUARANTINE_HINTS, create_table_variant=True)


def split_valid(
    items: Iterable[Any], required: Iterable[str], source: str, endpoint: str
) -> tuple[list[dict], list[Any]]:
    """Records with every `required` field (not null) and quarantine rows for the others."""
    good: list[dict] = []
    bad: list[Any] = []
    need = list(required)
    for item in items:
        if not isinstance(item, dict):
            bad.append(quarantine(source, endpoint, item, "record is not an object", None))
            continue
        missing = next((f for f in need if item.get(f) is None), None)
        if missing is not None:
            bad.append(quarantine(source, endpoint, item, "missing required field", missing))
        else:
            good.append(item)
    return good, bad


def materialize() -> Any:
    """Yielded first by every resource: its table exists (with the hinted columns) even before
    a first row arrives, so staging models over it always build."""
    return dlt.extract.materialize_schema_item()


def key_column(name: str, data_type: str) -> dict[str, dict[str, Any]]:
    """The key's type, so an empty table is created with it (the resource's `primary_key`
    makes it the key; not-null is left to that, so `_quarantine` rows may lack it)."""
    return {name: {"data_type": data_type}}


def columns(**types: str) -> dict[str, dict[str, Any]]:
    """Column hints `name=data_type`: nullable fields staging reads exist even before a first
    non-null value arrives, and nested values hinted `json` stay one column."""
    return {name: {"data_type": t, "nullable": True} for name, t in types.items()}


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
