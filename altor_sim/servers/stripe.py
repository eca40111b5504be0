"""Stripe API (`/v1/...`) over a world, as of the servers' clock.

Lists are newest first by `created` (ties: id descending), `limit` 1..100, `starting_after` /
`ending_before` by object id, `created` filters. Events are derived from successive versions.

Stripe lists events of the last 30 days only. The demo keeps every event unless
`events_kept_seconds` is set (a world's first sync replays months of history, which a real
account would have synced as it happened); with it set, older events are neither listed nor
retrievable, and naming one as a cursor is `resource_missing`, as for any object Stripe no
longer has.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from altor_sim.servers.http import (
    BadRequest,
    Request,
    Response,
    VendorApp,
    bracket_params,
)
from altor_sim.world.reader import Collection

COMMON = {"limit", "starting_after", "ending_before", "created", "expand"}
# Extra list parameters per endpoint (Stripe's spec); anything else is "unknown parameter".
PARAMS = {
    "customers": {"email", "test_clock"},
    "products": {"active", "ids", "shippable", "url"},
    "prices": {"active", "currency", "product", "type", "lookup_keys", "recurring"},
    "subscriptions": {"customer", "status", "price", "collection_method",
                      "current_period_end", "current_period_start", "test_clock"},
    "invoices": {"customer", "status", "subscription", "collection_method", "due_date"},
    "charges": {"customer", "payment_intent", "transfer_group"},
    "payment_intents": {"customer"},
    "events": {"type", "types", "delivery_success"},
}
# Filters that compare a top-level field for equality.
EQUALITY = {"email", "customer", "subscription", "product", "currency", "type",
            "collection_method", "payment_intent", "transfer_group"}
SUB_STATUSES = {"active", "all", "canceled", "ended", "incomplete", "incomplete_expired",
                "past_due", "paused", "trialing", "unpaid"}


def _event_prefix(obj_name: str) -> str:
    return "customer.subscription" if obj_name == "subscription" else obj_name


def _evt_id(*parts: Any) -> str:
    return "evt_" + hashlib.sha1(":".join(map(str, parts)).encode()).hexdigest()[:24]


def _first_below(items: list[tuple[Any, Any]], key: Any, inclusive: bool = False) -> int:
    """Index of the first item whose sort key is < key (<= key if inclusive) in a list sorted
    by key descending."""
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        k = items[mid][0]
        if k < key or (inclusive and k == key):
            hi = mid
        else:
            lo = mid + 1
    return lo


def _mask(key: str) -> str:
    return key[:8] + "*" * max(0, len(key) - 12) + key[-4:] if len(key) > 12 else key[:3] + "****"


class StripeApp(VendorApp):
    vendor = "stripe"
    events_kept_seconds: float | None = None  # None: every event is kept (module docstring)

    def __init__(self, servers: Any) -> None:
        super().__init__(servers)
        self.kinds: dict[str, Collection] = {
            name: c for (vendor, name), c in self.world.collections.items() if vendor == "stripe"
        }
        for name in ("customers", "products", "prices", "subscriptions", "invoices", "charges"):
            self.kinds.setdefault(name, self.collection(name))
        self.events = self._derive_events()
        self._event_keys = {e["id"]: k for k, e, _ in self.events}
        self._cache: dict[tuple, list] = {}

    # -- auth and errors ---------------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        token = self.servers.tokens["stripe"]
        auth = req.headers.get("Authorization") or ""
        scheme, _, cred = auth.partition(" ")
        key = ""
        if scheme.lower() == "bearer":
            key = cred.strip()
        elif scheme.lower() == "basic":
            try:
                key = base64.b64decode(cred.strip()).decode().partition(":")[0]
            except ValueError:
                key = "?"
        if key == token:
            return None
        if not key:
            msg = ("You did not provide an API key. You need to provide your API key in the "
                   "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                   "YOUR_SECRET_KEY'). See https://stripe.com/docs/api#authentication for "
                   "details, or we can help at https://support.stripe.com/.")
        else:
            msg = f"Invalid API Key provided: {_mask(key)}"
        return Response(401, {"error": {"message": msg, "type": "invalid_request_error"}},
                        {"WWW-Authenticate": 'Basic realm="Stripe"'})

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {"error": {"code": "rate_limit", "type": "invalid_request_error",
                              "message": "Request rate limit exceeded. Learn more about rate "
                                         "limits here https://stripe.com/docs/rate-limits."}}
        if status >= 500:
            return {"error": {"type": "api_error", "message": "An unknown error occurred"}}
        return {"error": {"type": "invalid_request_error", "message": "Invalid request"}}

    def _bad(self, message: str, param: str | None = None, code: str | None = None,
             status: int = 400) -> Response:
        err: dict[str, Any] = {"message": message, "type": "invalid_request_error"}
        if param:
            err["param"] = param
        if code:
            err["code"] = code
            err["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
        return Response(status, {"error": err}, self._req_headers())

    def _req_headers(self) -> dict[str, str]:
        return {"Request-Id": "req_" + hashlib.sha1(str(id(object())).encode()).hexdigest()[:14]}

    # -- routing -----------------------------------------------------------------------------
    _ROUTE = re.compile(r"^/v1/([a-z_]+)(?:/([^/]+))?/?$")

    def handle(self, req: Request) -> Response:
        m = self._ROUTE.match(req.path)
        if m and req.method == "GET":
            kind, oid = m.groups()
            if kind == "events" or kind in self.kinds:
                try:
                    if oid:
                        return self.retrieve(req, kind, oid)
                    return self.list(req, kind)
                except BadRequest as e:
                    code = "parameter_invalid_integer" if "integer" in e.message else None
                    if e.message.startswith("Received unknown parameter"):
                        code = "parameter_unknown"
                    return self._bad(e.message, e.param, code)
        return self._bad(f"Unrecognized request URL ({req.method}: {req.path}). Please see "
                         "https://stripe.com/docs or we can help at https://support.stripe.com/.",
                         status=404)

    # -- objects as of the clock ---------------------------------------------------------------
    @staticmethod
    def _created(obj: dict, first_at: float) -> int:
        c = obj.get("created")
        return int(c) if isinstance(c, int | float) else int(first_at)

    def _objects(self, kind: str) -> list[tuple[tuple[int, str], dict]]:
        """(sort key, object) of the live objects of `kind` at the clock, newest first."""
        key = (kind, self.now, self.events_kept_seconds)
        cached = self._cache.get(key)
        if cached is None and kind == "events":
            cached = [(e_key, e) for e_key, e, at in self.events
                      if at <= self.now and self._event_kept(e_key)]
            self._cache[key] = cached
        if cached is None:
            coll = self.kinds[kind]
            cached = []
            for oid, v in coll.visible(self.now):
                cached.append(((self._created(v.obj, coll.first_at(oid)), str(oid)), v.obj))
            cached.sort(key=lambda x: x[0], reverse=True)
            if len(self._cache) > 32:
                self._cache.clear()
            self._cache[key] = cached
        return cached

    def retrieve(self, req: Request, kind: str, oid: str) -> Response:
        if kind == "events":
            ekey = self._event_keys.get(oid)
            if ekey is not None and ekey[0] <= self.now and self._event_kept(ekey):
                return Response(200, next(e for k, e, _ in self.events if k == ekey),
                                self._req_headers())
            return self._bad(f"No such event: '{oid}'", "id", "resource_missing", 404)
        coll = self.kinds[kind]
        v = coll.state(oid, self.now)
        if v is not None and v.deleted and kind in ("customers", "products", "prices"):
            obj_name = (coll.last_live(oid, self.now) or {}).get("object", kind[:-1])
            return Response(200, {"id": oid, "object": obj_name, "deleted": True},
                            self._req_headers())
        if v is None or v.deleted:
            return self._bad(f"No such {kind[:-1]}: '{oid}'", "id", "resource_missing", 404)
        return Response(200, v.obj, self._req_headers())

    def list(self, req: Request, kind: str) -> Response:
        params = bracket_params(req.query)
        allowed = COMMON | PARAMS.get(kind, set())
        for name in params:
            if name not in allowed:
                raise BadRequest(f"Received unknown parameter: {name}", name)
        limit = req.q_int("limit", 10)
        if limit is None or limit < 1:
            raise BadRequest("This value must be greater than or equal to 1.", "limit")
        if limit > 100:
            raise BadRequest("This value must be less than or equal to 100.", "limit")
        if kind == "subscriptions" and params.get("status") not in (None, *SUB_STATUSES):
            raise BadRequest("Invalid status: must be one of "
                             + ", ".join(sorted(SUB_STATUSES)), "status")
        created = params.get("created")
        if created is not None:
            self._created_ok(0, created)  # validates the parameter once

        def ok(x: tuple) -> bool:
            return (created is None or self._created_ok(x[0][0], created)) \
                and self._match(kind, x[1], params)

        items = self._objects(kind)  # newest first
        after, before = params.get("starting_after"), params.get("ending_before")
        if after and before:
            raise BadRequest("You may only specify one of these parameters: ending_before, "
                             "starting_after.", "ending_before")
        page: list = []
        if before:
            ckey = self._cursor_key(kind, before)
            if ckey is None:
                return self._bad(f"No such {kind[:-1]}: '{before}'", "ending_before",
                                 "resource_missing")
            i = _first_below(items, ckey, inclusive=True) - 1
            while i >= 0 and len(page) <= limit:
                if ok(items[i]):
                    page.append(items[i])
                i -= 1
            has_more = len(page) > limit
            page = page[:limit][::-1]
        else:
            i = 0
            if after:
                ckey = self._cursor_key(kind, after)
                if ckey is None:
                    return self._bad(f"No such {kind[:-1]}: '{after}'", "starting_after",
                                     "resource_missing")
                i = _first_below(items, ckey)
            while i < len(items) and len(page) <= limit:
                if ok(items[i]):
                    page.append(items[i])
                i += 1
            has_more = len(page) > limit
            page = page[:limit]
        return Response(200, {"object": "list", "data": [o for _, o in page],
                              "has_more": has_more, "url": f"/v1/{kind}"}, self._req_headers())

    def _event_kept(self, ekey: tuple[int, str]) -> bool:
        kept = self.events_kept_seconds
        return kept is None or ekey[0] >= self.now - kept

    def _cursor_key(self, kind: str, oid: str) -> tuple[int, str] | None:
        if kind == "events":
            ekey = self._event_keys.get(oid)
            return ekey if ekey is not None and self._event_kept(ekey) else None
        coll = self.kinds[kind]
        v = coll.state(oid, self.now)
        if v is None:
            return None
        return (self._created(coll.last_live(oid, self.now) or v.obj, coll.first_at(oid)), oid)

    @staticmethod
    def _created_ok(created: int, spec: Any) -> bool:
        def num(x: Any, p: str) -> int:
            try:
                return int(x)
            except (TypeError, ValueError):
                raise BadRequest(f"Invalid integer: {x}", p) from None

        if isinstance(spec, dict):
            ops = {"gt": int.__gt__, "gte": int.__ge__, "lt": int.__lt__, "lte": int.__le__}
            for op, val in spec.items():
                if op not in ops:
                    raise BadRequest(f"Received unknown parameter: created[{op}]", f"created[{op}]")
                if not ops[op](created, num(val, f"created[{op}]")):
                    return False
            return True
        if isinstance(spec, list):
            raise BadRequest("Invalid timestamp: must be an integer Unix timestamp in the "
                             "past or a hash", "created")
        return created == num(spec, "created")

    def _match(self, kind: str, obj: dict, params: dict[str, Any]) -> bool:
        for name, value in params.items():
            if name in EQUALITY and not (kind == "events" and name == "type"):
                if obj.get(name) != value:
                    return False
        if kind == "subscriptions":
            status = params.get("status")
            st = obj.get("status")
            if status is None and st in ("canceled", "incomplete_expired"):
                return False  # Stripe hides canceled subscriptions unless asked for them
            if status == "ended" and st not in ("canceled", "incomplete_expired"):
                return False
            if status not in (None, "all", "ended") and st != status:
                return False
            if "price" in params:
                prices = [(i.get("price") or {}).get("id") for i in
                          ((obj.get("items") or {}).get("data") or [])]
                if params["price"] not in prices:
                    return False
        elif kind == "invoices" and "status" in params and obj.get("status") != params["status"]:
            return False
        elif kind in ("prices", "products") and "active" in params:
            if str(bool(obj.get("active"))).lower() != str(params["active"]).lower():
                return False
        elif kind == "events":
            types = params.get("types")
            if isinstance(types, list) and obj["type"] not in types:
                return False
            t = params.get("type")
            if t is not None:
                if t.endswith("*"):
                    if not obj["type"].startswith(t[:-1]):
                        return False
                elif obj["type"] != t:
                    return False
        return True

    # -- events --------------------------------------------------------------------------------
    def _derive_events(self) -> list[tuple[tuple[int, str], dict, float]]:
        """Every event of the world's history: (sort key, event, time), newest first."""
        out = []
        for kind, coll in self.kinds.items():
            for oid in coll.ids():
                prev: dict | None = None
                for i, v in enumerate(coll.versions(oid)):
                    cur = v.obj if not v.deleted else (prev or v.obj)
                    name = cur.get("object") or kind[:-1]
                    for etype, prev_attrs in self._types(name, prev, cur, v.deleted):
                        event = {
                            "id": _evt_id(kind, oid, i, etype), "object": "event",
                            "api_version": None, "created": int(v.at),
                            "data": {"object": cur}, "livemode": False,
                            "pending_webhooks": 0,
                            "request": {"id": None, "idempotency_key": None}, "type": etype,
                        }
                        if prev_attrs is not None:
                            event["data"]["previous_attributes"] = prev_attrs
                        out.append(((event["created"], event["id"]), event, v.at))
                    prev = cur
        out.sort(key=lambda x: x[0], reverse=True)
        return out

    @staticmethod
    def _types(name: str, prev: dict | None, cur: dict,
               deleted: bool) -> list[tuple[str, dict | None]]:
        p = _event_prefix(name)
        if deleted:
            return [(f"{p}.deleted", None)]
        if prev is None:
            types: list[tuple[str, dict | None]] = (
                [] if name == "charge" else [(f"{p}.created", None)])
            st = cur.get("status")
            if name == "charge":
                types.append((f"charge.{st}" if st in ("succeeded", "failed", "pending")
                              else "charge.updated", None))
            elif name == "invoice":
                if st in ("open", "paid", "uncollectible", "void"):
                    types.append(("invoice.finalized", None))
                if st == "paid":
                    types += [("invoice.paid", None), ("invoice.payment_succeeded", None)]
                elif st == "open" and (cur.get("attempt_count") or 0) > 0:
                    types.append(("invoice.payment_failed", None))
            return types
        changed = {k: prev.get(k) for k in set(prev) | set(cur) if prev.get(k) != cur.get(k)}
        if not changed:
            return []
        old, st = prev.get("status"), cur.get("status")
        if name == "subscription" and st in ("canceled", "incomplete_expired") and old != st:
            return [(f"{p}.deleted", None)]
        types = [(f"{p}.updated", changed)]
        if name == "invoice":
            if old == "draft" and st in ("open", "paid", "uncollectible", "void"):
                types.append(("invoice.finalized", None))
            if st == "paid" and old != "paid":
                types += [("invoice.paid", None), ("invoice.payment_succeeded", None)]
            elif st == "void" and old != "void":
                types.append(("invoice.voided", None))
            elif st == "uncollectible" and old != "uncollectible":
                types.append(("invoice.marked_uncollectible", None))
            elif (cur.get("attempt_count") or 0) > (prev.get("attempt_count") or 0):
                types.append(("invoice.payment_failed", None))
        elif name == "charge" and st != old and st in ("succeeded", "failed"):
            types = [(f"charge.{st}", None)] + types
        elif name == "charge" and cur.get("refunded") and not prev.get("refunded"):
            types.append(("charge.refunded", None))
        return types
