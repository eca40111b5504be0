"""Stripe as a dlt source, through the official `stripe` library.

Stripe objects have no `updated` field, so a table is kept current in two ways:
- new objects: the list endpoint filtered by `created[gte]` = the newest `created` seen (the
  first run lists everything; merge on `id` makes the boundary second harmless);
- changed objects: `/v1/events` since the newest event's `created`; an event carries the
  object's state at that moment in `data.object`, the newest one per object is merged.
Both incremental lists also pass `ending_before=<newest id seen>` (Stripe's own way to list
what came after an object), so objects sharing the boundary second are not paged through
again; if that object is gone (`resource_missing`), the `created[gte]` filter alone is used.
`events` is a table too (staging derives subscription status history from it). Events are
fetched once per run and shared by the resources that read them.

Retries are ours, not the library's (`max_network_retries=0`): rate limits wait for
`Retry-After`; connection errors, a body cut short, a body that is not JSON and 5xx are retried
with bounded exponential backoff (the library does not retry a truncated body). A page whose
cursor object is the one we just asked after (a page served twice) is asked for again, never
followed in a loop. Stripe keeps events for 30 days: after a longer pause the events mark is
gone (`resource_missing` on `ending_before`), a gap the events cannot close, so the run says
so (a warning naming the mark) and lists every object in full instead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import dlt
import stripe as stripe_lib

from altor_pipelines.errors import SourceError
from altor_pipelines.settings import Secret
from altor_pipelines.sources.http import as_secret, redact
from altor_pipelines.sources.records import (
    checked,
    columns,
    key_column,
    materialize,
    split_valid,
)

log = logging.getLogger(__name__)

SOURCE = "stripe"
EVENTS_KEPT_SECONDS = 30 * 86400  # Stripe lists events of the last 30 days only
# resource/table name -> (client.v1 service, data.object.object of its events, list params)
TXT, BIG = "text", "bigint"
COLUMNS: dict[str, dict[str, Any]] = {
    "customers": columns(created=BIG, name=TXT, email=TXT, delinquent="bool",
                         metadata__org_id=TXT, deleted="bool"),
    "products": columns(created=BIG, name=TXT, active="bool", deleted="bool",
                        metadata__rate_limit_per_minute=TXT,
                        metadata__monthly_request_quota=TXT),
    "prices": columns(created=BIG, product=TXT, active="bool", unit_amount=BIG, currency=TXT,
                      recurring__interval=TXT, deleted="bool",
                      metadata__rate_limit_per_minute=TXT,
                      metadata__monthly_request_quota=TXT),
    "subscriptions": columns(created=BIG, customer=TXT, status=TXT, canceled_at=BIG,
                             current_period_start=BIG, start_date=BIG),
    "invoices": columns(created=BIG, customer=TXT, subscription=TXT, status=TXT,
                        amount_due=BIG, amount_paid=BIG, amount_remaining=BIG, currency=TXT,
                        attempt_count=BIG, due_date=BIG, status_transitions__paid_at=BIG,
                        status_transitions__voided_at=BIG,
                        status_transitions__finalized_at=BIG),
    "charges": columns(created=BIG, customer=TXT, invoice=TXT, status=TXT, amount=BIG,
                       currency=TXT, failure_code=TXT, failure_message=TXT, outcome__type=TXT,
                       outcome__reason=TXT),
    "events": columns(created=BIG, type=TXT, data="json"),
}
for _hints in COLUMNS.values():
    _hints.update(key_column("id", TXT))
OBJECTS: dict[str, tuple[str, str, dict[str, Any]]] = {
    "customers": ("customers", "customer", {}),
    "products": ("products", "product", {}),
    "prices": ("prices", "price", {}),
    "subscriptions": ("subscriptions", "subscription", {"status": "all"}),
    "invoices": ("invoices", "invoice", {}),
    "charges": ("charges", "charge", {}),
}


class _ResourceMissing(Exception):
    """A cursor object (`ending_before`/`starting_after`) that the API no longer knows."""


class StripeLister:
    """Pages of one list endpoint; every retry is here (see the module docstring)."""

    def __init__(self, api_base: str, api_key: Secret | str, page_size: int,
                 max_retries: int = 5, max_retry_after_seconds: float = 300.0,
                 backoff_seconds: float = 0.5, max_backoff_seconds: float = 30.0,
                 timeout: float = 60.0) -> None:
        stripe_lib.enable_telemetry = False
        self.secret = as_secret(api_key)
        self.client = stripe_lib.StripeClient(
            self.secret.reveal(), base_addresses={"api": api_base.rstrip("/")},
            max_network_retries=0, http_client=stripe_lib.RequestsClient(timeout=timeout),
        )
        self.page_size = min(max(page_size, 1), 100)
        self.max_retries = max_retries
        self.max_retry_after_seconds = max_retry_after_seconds
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_seconds * 2 ** (attempt - 1), self.max_backoff_seconds)

    def error(self, message: str, endpoint: str, record: Any = None,
              field: str | None = None) -> SourceError:
        return SourceError(SOURCE, redact(message, [self.secret]), endpoint=endpoint,
                           record=record, field=field)

    def _call(self, fn: Callable[[], Any], endpoint: str) -> Any:
        attempt = 0
        while True:
            attempt += 1
            try:
                return fn()
            except stripe_lib.RateLimitError as exc:
                if attempt > self.max_retries:
                    raise self.error(f"rate limited after {attempt} attempts", endpoint) from None
                retry_after = (exc.headers or {}).get("retry-after") or (exc.headers or {}).get(
                    "Retry-After")
                try:
                    wait = float(retry_after) if retry_after else self._backoff(attempt)
                except ValueError:
                    wait = self._backoff(attempt)
                log.info("stripe %s: rate limited, retrying in %.1fs", endpoint, wait)
                time.sleep(min(wait, self.max_retry_after_seconds))
            except (stripe_lib.APIConnectionError, stripe_lib.APIError) as exc:
                # connection lost, body cut short, body not JSON, 5xx: transient
                if attempt > self.max_retries:
                    raise self.error(f"{type(exc).__name__} after {attempt} attempts: "
                                     f"{exc.user_message or exc._message or ''}",
                                     endpoint) from None
                log.info("stripe %s: %s, retrying", endpoint, type(exc).__name__)
                time.sleep(self._backoff(attempt))
            except stripe_lib.InvalidRequestError as exc:
                if exc.code == "resource_missing":
                    raise _ResourceMissing(endpoint) from None
                raise self.error(f"HTTP {exc.http_status}: {type(exc).__name__}: "
                                 f"{exc.user_message or exc._message or ''}", endpoint) from None
            except stripe_lib.StripeError as exc:
                raise self.error(f"HTTP {exc.http_status}: {type(exc).__name__}: "
                                 f"{exc.user_message or exc._message or ''}", endpoint) from None

    def pages(self, service: str, params: dict[str, Any], newer_than: str | None = None,
              vanished_ok: bool = True) -> Iterator[list[dict]]:
        """Pages of `/v1/<service>`, newest first. With `newer_than` (an object id): only the
        objects listed before it (newer), walking back with `ending_before`. When that object
        is gone, the `created` filter alone bounds the list (`vanished_ok`), or
        `_ResourceMissing` is raised for the caller to decide."""
        if newer_than:
            try:
                yield from self._pages_newer(service, params, newer_than)
                return
            except _ResourceMissing:
                if not vanished_ok:
                    raise
        endpoint = f"/v1/{service}"
        svc = getattr(self.client.v1, service)
        query = {"limit": self.page_size, **params}
        stuck = 0
        while True:
            page = self._list(svc, query, endpoint)
            rows = [o.to_dict() for o in page.data]
            yield rows
            if not page.has_more or not rows:
                return
            last = rows[-1].get("id")
            if not last:
                raise self.error("last object of a page has no id, cannot page on", endpoint,
                                 field="id")
            if last == query.get("starting_after"):  # the same page again: ask again
                stuck = self._stuck(stuck, endpoint, last)
                continue
            stuck = 0
            query["starting_after"] = last

    def _stuck(self, stuck: int, endpoint: str, cursor: str) -> int:
        stuck += 1
        if stuck > self.max_retries:
            raise self.error(f"the cursor did not advance after {stuck} attempt(s)", endpoint,
                             record=cursor, field="starting_after")
        time.sleep(self._backoff(stuck))
        return stuck

    def _list(self, svc: Any, query: dict[str, Any], endpoint: str) -> Any:
        try:
            return self._call(lambda: svc.list(dict(query)), endpoint)
        except _ResourceMissing:
            raise self.error("the page cursor object no longer exists", endpoint,
                             record=query.get("starting_after") or query.get("ending_before"),
                             field="starting_after") from None

    def _pages_newer(self, service: str, params: dict[str, Any],
                     newer_than: str) -> Iterator[list[dict]]:
        endpoint = f"/v1/{service}"
        svc = getattr(self.client.v1, service)
        query = {"limit": self.page_size, **params, "ending_before": newer_than}
        first = True
        stuck = 0
        while True:
            if first:  # only the first call may fall back (nothing was yielded yet)
                page = self._call(lambda: svc.list(dict(query)), endpoint)
                first = False
            else:
                page = self._list(svc, query, endpoint)
            rows = [o.to_dict() for o in page.data]
            yield rows
            if not page.has_more or not rows or not rows[0].get("id"):
                return
            if rows[0]["id"] == query["ending_before"]:
                stuck = self._stuck(stuck, endpoint, rows[0]["id"])
                continue
            stuck = 0
            query["ending_before"] = rows[0]["id"]


def _newest(rows: list[dict], current: tuple[int, str] | None) -> tuple[int, str] | None:
    """The newest (created, id) among rows and the current mark."""
    keys = [(r["created"], r["id"]) for r in rows]
    if current is not None:
        keys.append(tuple(current))
    return max(keys) if keys else None


@dlt.source(name="stripe", max_table_nesting=2)
def stripe_source(api_base: str, api_key: Any, page_size: int = 100,
                  backoff_seconds: float = 0.5, timeout: float = 60.0) -> Any:
    """Stripe customers, products, prices, subscriptions (all statuses), invoices, charges and
    events, merged on `id`; bad records go to `_quarantine`."""
    lister = StripeLister(api_base, api_key, page_size, backoff_seconds=backoff_seconds,
                          timeout=timeout)
    events_cache: dict[tuple | None, tuple[list[dict], bool]] = {}

    def events_after(mark: tuple[int, str] | None) -> tuple[list[dict], bool]:
        """(events after the mark (created, id), newest first; whether events are missing
        after the mark). All events when the mark is None. Fetched once per run and shared by
        every resource.

        Events are never deleted except by age, so a mark event the API no longer has means
        the events log no longer reaches back to it: the events between are lost for good
        (said in the log, naming the mark), and the caller lists its objects in full."""
        key = tuple(mark) if mark else None
        if key not in events_cache:
            gap = False
            if key is None:
                rows = [e for page in lister.pages("events", {}) for e in page]
            else:
                try:
                    rows = [e for page in lister.pages(
                        "events", {"created": {"gte": key[0]}}, newer_than=key[1],
                        vanished_ok=False) for e in page]
                except _ResourceMissing:
                    gap = True
                    log.warning(
                        "stripe /v1/events: the events mark %s (created %s) is older than the "
                        "events Stripe keeps (%d days): events since then are lost, so every "
                        "Stripe object is listed again in full (source=stripe, "
                        "endpoint=/v1/events, record=%s, field=ending_before)", key[1],
                        datetime.fromtimestamp(key[0], UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                        EVENTS_KEPT_SECONDS // 86400, key[1])
                    rows = [e for page in lister.pages("events", {}) for e in page]
            rows.sort(key=lambda e: e.get("created") or 0, reverse=True)  # stable: API order
            events_cache[key] = (rows, gap)
        return events_cache[key]

    @dlt.resource(name="events", primary_key="id", write_disposition="merge",
                  columns=COLUMNS["events"])
    def events() -> Iterator[Any]:
        yield materialize()
        state = dlt.current.resource_state()
        good, bad = split_valid(events_after(state.get("newest"))[0],
                                ["id", "created", "type"], SOURCE, "/v1/events")
        if good:
            yield good
            state["newest"] = _newest(good, state.get("newest"))
        yield from bad

    def object_resource(name: str, service: str, kind: str, extra: dict[str, Any]) -> Any:
        endpoint = f"/v1/{service}"

        def rows() -> Iterator[Any]:
            yield materialize()
            state = dlt.current.resource_state()
            newest = state.get("newest")  # (created, id) of the newest object listed so far
            # Events first: a change made while we list is then caught by the next run.
            evs, gap = events_after(state.get("events_newest"))
            if gap:  # changes were lost with the events: list everything, as on a first run
                newest = None
            params = dict(extra)
            if newest:
                params["created"] = {"gte": newest[0]}
            listed: set[str] = set()
            for page in lister.pages(service, params, newer_than=newest[1] if newest else None):
                good, bad = split_valid(page, ["id", "created"], SOURCE, endpoint, COLUMNS[name])
                if good:
                    yield good
                    listed.update(o["id"] for o in good)
                    state["newest"] = _newest(good, state.get("newest"))
                yield from bad
            if newest:  # not on the first run: the full listing is already current
                changed: list[dict] = []
                for ev in evs:  # newest first: the first state met per object is its latest
                    obj = ((ev.get("data") or {}).get("object")) or {}
                    if obj.get("object") != kind or not obj.get("id") or obj["id"] in listed:
                        continue
                    listed.add(obj["id"])
                    if str(ev.get("type", "")).endswith(".deleted") and kind != "subscription":
                        obj = {**obj, "deleted": True}
                    changed.append(obj)
                yield from checked(changed, ["id", "created"], SOURCE, "/v1/events",
                                   COLUMNS[name])
            valid = [e for e in evs if e.get("id") and e.get("created") is not None]
            if valid:
                state["events_newest"] = _newest(valid, state.get("events_newest"))

        return dlt.resource(rows, name=name, primary_key="id", write_disposition="merge",
                            columns=COLUMNS[name])

    return [events, *(object_resource(n, s, k, p) for n, (s, k, p) in OBJECTS.items())]
