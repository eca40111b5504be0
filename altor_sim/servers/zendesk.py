"""Zendesk Support API (`/api/v2/...`) over a world, as of the servers' clock.

Exports: cursor-based `incremental/tickets/cursor`; time-based `incremental/tickets`,
`incremental/ticket_events`, `incremental/users`, `incremental/organizations`. The ticket
exports sideload each ticket's metric set (`include=metric_sets`), and, as in Zendesk, a
ticket's `generated_timestamp` moves when its metric set changes, so a metric update
re-exports it. Lists with cursor pagination (`page[size]`, `page[after]`, `page[before]`)
or offset pagination (`page`, `per_page`). Ticket update (PUT) with an internal comment,
kept in memory as a new version.
"""

from __future__ import annotations

import base64
import bisect
import copy
import re
from typing import Any

from altor_sim.servers.http import BadRequest, Request, Response, VendorApp, b64, unb64
from altor_sim.servers.zendesk_events import as_text, audit_event, comment_audit
from altor_sim.servers.zendesk_pages import EXPORT_MAX, paginate, time_page
from altor_sim.world.reader import Collection, Version, iso


def _id_order(oid: Any) -> tuple[bool, Any]:
    """Ids in order: numbers by value, then strings (a world may mix them)."""
    return (isinstance(oid, str), oid)


def _included(req: Request) -> set[str]:
    """The sideloads an export request asks for (`include=a,b`)."""
    return {name.strip() for name in (req.q("include") or "").split(",") if name.strip()}


def _err(status: int, error: str, description: str) -> Response:
    return Response(status, {"error": error, "description": description})


class ZendeskApp(VendorApp):
    vendor = "zendesk"

    def __init__(self, servers: Any) -> None:
        super().__init__(servers)
        self.tickets = self.collection("tickets")
        self.comments = self.collection("ticket_comments")
        self.metrics = self.collection("ticket_metrics")
        self.lists = {
            "organizations": self.collection("organizations"),
            "users": self.collection("users"),
            "groups": self.collection("groups"),
            "ticket_fields": self.collection("ticket_fields"),
            "ticket_metrics": self.metrics,
            "tickets": self.tickets,
        }
        # comments per ticket (ids), and ids for new comments/audits beyond any in the world
        self._comments_by_ticket: dict[Any, list[Any]] = {}
        for cid in self.comments.ids():
            first = self.comments.versions(cid)[0].obj
            self._comments_by_ticket.setdefault(first.get("ticket_id"), []).append(cid)
        self._next_comment_id = max([c for c in self.comments.ids() if isinstance(c, int)],
                                    default=10_000_000) + 1
        self._updaters: dict[int, Any] = {}  # vid of a written version → author
        self._written_comments: dict[int, dict] = {}  # vid → comment added with it
        self._written_comment_vids: set[int] = set()  # their own versions' serials
        agents = [u for _, v in self.lists["users"].visible(float("inf"))
                  if (u := v.obj).get("role") in ("admin", "agent")]
        self.api_user = agents[0] if agents else {"id": 1, "name": "API", "role": "admin"}
        self._pos_cache: dict[tuple, Any] = {}
        self._events_cache: dict[tuple, Any] = {}
        # per variant (with the comment_events sideload or without): audits per ticket, and the
        # tickets a write-back changed since they were derived
        self._events_per_ticket: dict[bool, dict[Any, list]] = {False: {}, True: {}}
        self._dirty: dict[bool, set[Any]] = {False: set(), True: set()}
        # per list: (clock, generation) -> its live objects, and metrics by ticket; a sync pages
        # through a list at one clock, and rebuilding it per page is quadratic in its length
        self._live_cache: dict[str, tuple[tuple[float, int], list[tuple[Any, dict]]]] = {}
        self._metric_of_ticket: tuple[tuple[float, int], dict[Any, tuple[int, dict]]] | None = None

    # -- auth and errors ---------------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        token = self.servers.tokens["zendesk"]
        auth = req.headers.get("Authorization") or ""
        scheme, _, cred = auth.partition(" ")
        if scheme.lower() == "bearer" and cred.strip() == token:
            return None
        if scheme.lower() == "basic":
            try:
                user, _, secret = base64.b64decode(cred.strip()).decode().partition(":")
            except ValueError:
                user, secret = "", ""
            if user.endswith("/token") and secret == token:
                return None
        return Response(401, {"error": "Couldn't authenticate you"},
                        {"WWW-Authenticate": 'Basic realm="Web Password"'})

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {"error": "APIRateLimitExceeded",
                    "description": "Number of allowed API requests per minute exceeded"}
        if status == 401:
            return {"error": "Couldn't authenticate you"}
        if status == 404:
            return {"error": "RecordNotFound", "description": "Not found"}
        if status >= 500:
            return {"error": "InternalError",
                    "description": "Something went wrong. Please try again."}
        return {"error": "InvalidValue", "description": "Invalid request"}

    # -- routing -----------------------------------------------------------------------------
    ROUTES: list[tuple[str, str, str]] = [
        ("GET", r"/api/v2/incremental/tickets/cursor(?:\.json)?", "export_tickets_cursor"),
        ("GET", r"/api/v2/incremental/tickets(?:\.json)?", "export_tickets_time"),
        ("GET", r"/api/v2/incremental/ticket_events(?:\.json)?", "export_ticket_events"),
        ("GET", r"/api/v2/incremental/(users|organizations)(?:\.json)?", "export_simple"),
        ("GET", r"/api/v2/tickets/(\d+)/comments(?:\.json)?", "list_comments"),
        ("GET", r"/api/v2/tickets/(\d+)/metrics(?:\.json)?", "ticket_metric"),
        ("GET", r"/api/v2/tickets/(\d+)(?:\.json)?", "show_ticket"),
        ("PUT", r"/api/v2/tickets/(\d+)(?:\.json)?", "update_ticket"),
        ("GET", r"/api/v2/users/me(?:\.json)?", "me"),
        ("GET", r"/api/v2/(organizations|users|groups|ticket_fields|ticket_metrics|tickets)"
                r"/(\d+)(?:\.json)?", "show_one"),
        ("GET", r"/api/v2/(organizations|users|groups|ticket_fields|ticket_metrics|tickets)"
                r"(?:\.json)?", "list_objects"),
    ]
    _compiled = [(m, re.compile(p + r"/?$"), h) for m, p, h in ROUTES]

    def handle(self, req: Request) -> Response:
        for method, pattern, name in self._compiled:
            m = pattern.match(req.path)
            if m and method == req.method:
                try:
                    with self.world.lock:
                        return getattr(self, name)(req, *m.groups())
                except BadRequest as e:
                    return _err(e.status, "InvalidPaginationParameter"
                                if (e.param or "").startswith("page") else "InvalidValue",
                                e.message)
        return _err(404, "InvalidEndpoint", "Not found")

    # -- tickets as of the clock ---------------------------------------------------------------
    def _ticket_view(self, tid: Any, v: Version, generated: int) -> dict:
        """A ticket as the exports show it: deleted ones keep their last state, status deleted."""
        if v.deleted:
            obj = dict(self.tickets.last_live(tid, v.at) or {"id": tid})
            obj["status"] = "deleted"
            obj["updated_at"] = iso(v.at)
        else:
            obj = dict(v.obj)
        obj["generated_timestamp"] = generated
        return obj

    def _metric_sets(self) -> dict[Any, tuple[int, dict]]:
        """Each ticket's metric set as of the clock (the lowest metric id if a world gives a
        ticket several) and the second its current version was written."""
        key = (self.now, self.metrics.generation)
        if self._metric_of_ticket is None or self._metric_of_ticket[0] != key:
            by_ticket: dict[Any, tuple[int, dict]] = {}
            for _, v in sorted(self.metrics.visible(self.now), key=lambda x: _id_order(x[0])):
                by_ticket.setdefault(v.obj.get("ticket_id"), (int(v.at), v.obj))
            self._metric_of_ticket = (key, by_ticket)
        return self._metric_of_ticket[1]

    def _generated(self, tid: Any, v: Version, metrics: dict[Any, tuple[int, dict]]) -> int:
        """A ticket's `generated_timestamp`: its last change, its metric set's included."""
        if v.deleted or tid not in metrics:
            return int(v.at)
        return max(int(v.at), metrics[tid][0])

    def _sideloads(self, req: Request, tickets: list[dict],
                   metrics: dict[Any, tuple[int, dict]]) -> dict[str, Any]:
        """The `include` sideloads of an export page; Zendesk ignores names it does not know."""
        if "metric_sets" not in _included(req):
            return {}
        return {"metric_sets": [metrics[t["id"]][1] for t in tickets
                                if t.get("status") != "deleted" and t["id"] in metrics]}

    def _ticket_positions(self, metrics: dict[Any, tuple[int, dict]],
                          exclude_deleted: bool = False) -> tuple[list, list, list]:
        """Every ticket as of the clock, sorted by (generated_timestamp, id): the rows
        (timestamp, id, version), their (timestamp, id) keys and their timestamps. `metrics`:
        `_metric_sets()`, read once per request (a running clock moves between reads)."""
        key = ("pos", self.now, self.tickets.generation, self.metrics.generation,
               exclude_deleted)
        cached = self._pos_cache.get(key)
        if cached is None:
            rows = sorted(((self._generated(tid, v, metrics), tid, v) for tid, v in
                           self.tickets.visible(self.now, include_deleted=not exclude_deleted)),
                          key=lambda x: (x[0], x[1]))
            cached = (rows, [(r[0], r[1]) for r in rows], [r[0] for r in rows])
            if len(self._pos_cache) > 4:
                self._pos_cache.clear()
            self._pos_cache[key] = cached
        return cached

    def _start_time(self, req: Request) -> int:
        raw = req.q("start_time")
        if raw is None or raw == "":
            raise BadRequest("start_time is required", "start_time")
        try:
            start = int(raw)
        except ValueError:
            raise BadRequest(f"start_time must be an integer, got {raw!r}", "start_time") from None
        if start > self.now - 60:
            raise BadRequest("Too recent start_time. Use a start_time older than 1 minute",
                             "start_time")
        return start

    def _per_page(self, req: Request, default: int = EXPORT_MAX, cap: int = EXPORT_MAX) -> int:
        n = req.q_int("per_page", default)
        if n is None or n < 1:
            raise BadRequest("per_page must be a positive integer", "per_page")
        return min(n, cap)  # Zendesk caps larger page sizes at the maximum

    def export_tickets_cursor(self, req: Request) -> Response:
        per_page = self._per_page(req)
        exclude_deleted = (req.q("exclude_deleted") or "").lower() == "true"
        cursor = req.q("cursor")
        if cursor:
            c = unb64(cursor)
            if not (isinstance(c, dict) and {"d", "t", "i"} <= set(c)):
                raise BadRequest("invalid cursor", "cursor")
            direction, pos = c["d"], (c["t"], c["i"])
        else:
            direction, pos = "a", (self._start_time(req), -1)
        metrics = self._metric_sets()
        items, keys, _ = self._ticket_positions(metrics, exclude_deleted)
        if direction == "a":
            lo = bisect.bisect_right(keys, pos)
            page = items[lo:lo + per_page]
            more = lo + per_page < len(items)
        else:
            hi = bisect.bisect_left(keys, pos)
            page = items[max(0, hi - per_page):hi]
            more = False
        last = (page[-1][0], page[-1][1]) if page else pos
        after = b64({"d": "a", "t": last[0], "i": last[1]})
        before = b64({"d": "b", "t": page[0][0], "i": page[0][1]}) if page else None
        extra = {"per_page": per_page} if req.q("per_page") else {}
        if exclude_deleted:
            extra["exclude_deleted"] = "true"
        if req.q("include"):
            extra["include"] = req.q("include")
        tickets = [self._ticket_view(tid, v, ts) for ts, tid, v in page]
        return Response(200, {
            "tickets": tickets,
            **self._sideloads(req, tickets, metrics),
            "after_url": req.url(None, {"cursor": after, **extra}),
            "after_cursor": after,
            "before_url": req.url(None, {"cursor": before, **extra}) if before else None,
            "before_cursor": before,
            "end_of_stream": not more,
        })

    def export_tickets_time(self, req: Request) -> Response:
        start, per_page = self._start_time(req), self._per_page(req)
        exclude_deleted = (req.q("exclude_deleted") or "").lower() == "true"
        metrics = self._metric_sets()
        rows, _, stamps = self._ticket_positions(metrics, exclude_deleted)
        extra = {"exclude_deleted": "true"} if exclude_deleted else {}
        if req.q("include"):
            extra["include"] = req.q("include")
        resp = time_page(req, self.now, rows, stamps, "tickets", start, per_page,
                         lambda r: self._ticket_view(r[1], r[2], r[0]), extra)
        resp.body.update(self._sideloads(req, resp.body["tickets"], metrics))
        return resp

    def export_simple(self, req: Request, kind: str) -> Response:
        start, per_page = self._start_time(req), self._per_page(req)
        coll = self.lists[kind]
        rows = sorted(((int(v.at), oid, v) for oid, v in
                       coll.visible(self.now, include_deleted=True)), key=lambda r: (r[0], r[1]))

        def view(r: tuple) -> dict:
            oid, v = r[1], r[2]
            if not v.deleted:
                return v.obj
            return {**(coll.last_live(oid, v.at) or {}), "id": oid, "deleted": True}

        return time_page(req, self.now, rows, [r[0] for r in rows], kind, start, per_page, view)

    def _world_comments(self, tid: Any) -> dict[float, list[tuple[dict, Version]]]:
        """A ticket's comments from the world (not write-backs), by the time they were made."""
        by_time: dict[float, list[tuple[dict, Version]]] = {}
        for cid in self._comments_by_ticket.get(tid, []):
            v = self.comments.versions(cid)[0]  # comments are immutable: one version
            if v.vid not in self._written_comment_vids:
                by_time.setdefault(v.at, []).append((v.obj, v))
        return by_time

    def _ticket_audits(self, tid: Any, with_comments: bool) -> list[tuple[int, int, dict, float]]:
        """One ticket's audits (timestamp, id, event, time): one per version; with comments,
        each comment is a `Comment` child of the audit made at its time, or of an audit of its
        own when no version was (its id: the comment version's serial, unique in the world)."""
        rows = []
        prev: dict | None = None
        versions = self.tickets.versions(tid)
        world = self._world_comments(tid) if with_comments else {}
        for v in versions:
            cur = {**(prev or {}), "status": "deleted"} if v.deleted else v.obj
            made: list[dict] = []
            if with_comments:
                written = self._written_comments.get(v.vid)
                made = ([written] if written else []) + [c for c, _ in world.get(v.at, [])]
            event = audit_event(tid, v, prev, cur, made, self._updaters)
            rows.append((int(v.at), v.vid, event, v.at))
            prev = cur
        at_versions = {v.at for v in versions}
        for at, made_then in world.items():
            if at not in at_versions:
                for c, cv in made_then:
                    rows.append((int(at), cv.vid, comment_audit(tid, c, cv), at))
        return rows

    def _events(self, with_comments: bool) -> tuple[list[tuple[int, int, dict, float]],
                                                    list[int]]:
        """Ticket events (audits) derived from successive ticket versions (and, with comments,
        the world's comments), all times, sorted by (timestamp, id); and their timestamps.
        Derived per ticket once; a write-back re-derives only its ticket."""
        key = ("events", self.tickets.generation, with_comments)
        cached = self._events_cache.get(key)
        if cached is not None:
            return cached
        per, dirty = self._events_per_ticket[with_comments], self._dirty[with_comments]
        for tid in (self.tickets.ids() if not per else dirty):
            per[tid] = self._ticket_audits(tid, with_comments)
        dirty.clear()
        out = [r for rows in per.values() for r in rows]
        out.sort(key=lambda r: (r[0], r[1]))
        self._events_cache = {k: v for k, v in self._events_cache.items()
                              if k[2] != with_comments}
        self._events_cache[key] = (out, [r[0] for r in out])
        return self._events_cache[key]

    def export_ticket_events(self, req: Request) -> Response:
        start, per_page = self._start_time(req), self._per_page(req)
        include = req.q("include") or ""
        rows, stamps = self._events("comment_events" in _included(req))
        now = self.now
        cut = bisect.bisect_right(stamps, now)
        edge = bisect.bisect_left(stamps, int(now))  # the clock's own second: check exactly
        rows = rows[:edge] + [r for r in rows[edge:cut] if r[3] <= now]
        return time_page(req, self.now, rows, stamps[:len(rows)], "ticket_events", start,
                         per_page, lambda r: r[2], {"include": include} if include else None)

    # -- lists --------------------------------------------------------------------------------
    def _live(self, coll: Collection) -> list[tuple[Any, dict]]:
        key = (self.now, coll.generation)
        cached = self._live_cache.get(coll.name)
        if cached is None or cached[0] != key:
            items = [((oid,), v.obj) for oid, v in coll.visible(self.now)]
            items.sort(key=lambda x: x[0])
            cached = self._live_cache[coll.name] = (key, items)
        return cached[1]

    def list_objects(self, req: Request, kind: str) -> Response:
        return paginate(req, kind, self._live(self.lists[kind]))

    def show_one(self, req: Request, kind: str, oid: str) -> Response:
        obj = self.lists[kind].get(int(oid), self.now)
        if obj is None:
            return _err(404, "RecordNotFound", "Not found")
        return Response(200, {kind[:-1]: obj})

    def me(self, req: Request) -> Response:
        return Response(200, {"user": self.api_user})

    def show_ticket(self, req: Request, tid: str) -> Response:
        obj = self.tickets.get(int(tid), self.now)
        if obj is None:
            return _err(404, "RecordNotFound", "Not found")
        return Response(200, {"ticket": obj})

    def ticket_metric(self, req: Request, tid: str) -> Response:
        if self.tickets.get(int(tid), self.now) is None:
            return _err(404, "RecordNotFound", "Not found")
        found = self._metric_sets().get(int(tid))
        if found is not None:
            return Response(200, {"ticket_metric": found[1]})
        return _err(404, "RecordNotFound", "Not found")

    def list_comments(self, req: Request, tid: str) -> Response:
        t = int(tid)
        if self.tickets.get(t, self.now) is None:
            return _err(404, "RecordNotFound", "Not found")
        items = []
        for cid in self._comments_by_ticket.get(t, []):
            obj = self.comments.get(cid, self.now)
            if obj is not None:
                items.append(((obj.get("created_at") or "", cid), obj))
        items.sort(key=lambda x: x[0])
        return paginate(req, "comments", items)

    # -- write-back ---------------------------------------------------------------------------
    def update_ticket(self, req: Request, tid: str) -> Response:
        t = int(tid)
        body = req.json
        if not isinstance(body, dict) or not isinstance(body.get("ticket"), dict):
            return _err(400, "InvalidValue", "Request body must be JSON: {\"ticket\": {...}}")
        upd = body["ticket"]
        cur = self.tickets.get(t, self.now)
        if cur is None:
            return _err(404, "RecordNotFound", "Not found")
        now = self.now
        new = copy.deepcopy(cur)
        events: list[dict] = []
        for f in ("status", "group_id", "assignee_id", "priority", "type", "subject",
                  "due_at", "external_id"):
            if f in upd and upd[f] != new.get(f):
                events.append({"type": "Change", "field_name": f, "value": as_text(upd[f]),
                               "previous_value": as_text(new.get(f))})
                new[f] = upd[f]
        tags = list(new.get("tags") or [])
        if "tags" in upd:
            tags = list(dict.fromkeys(upd["tags"] or []))
        for tag in upd.get("additional_tags") or []:
            if tag not in tags:
                tags.append(tag)
        tags = [x for x in tags if x not in set(upd.get("remove_tags") or [])]
        if tags != (new.get("tags") or []):
            events.append({"type": "Change", "field_name": "tags", "value": " ".join(tags),
                           "previous_value": " ".join(new.get("tags") or [])})
            new["tags"] = tags
        cfs = upd.get("custom_fields") or upd.get("fields") or []
        if cfs:
            fields = {f["id"]: dict(f) for f in new.get("custom_fields") or []}
            for f in cfs:
                if not isinstance(f, dict) or "id" not in f:
                    return _err(400, "InvalidValue", "custom_fields entries need id and value")
                old = fields.get(f["id"], {}).get("value")
                if old != f.get("value"):
                    events.append({"type": "Change", "field_name": str(f["id"]),
                                   "value": as_text(f.get("value")),
                                   "previous_value": as_text(old)})
                fields[f["id"]] = {"id": f["id"], "value": f.get("value")}
            new["custom_fields"] = list(fields.values())
            if "fields" in new:
                new["fields"] = list(fields.values())
        comment = None
        c = upd.get("comment")
        if isinstance(c, dict) and (c.get("body") or c.get("html_body")):
            cid = self._next_comment_id
            self._next_comment_id += 1
            text = c.get("body") or re.sub(r"<[^>]+>", "", c.get("html_body") or "")
            comment = {
                "id": cid, "type": "Comment", "ticket_id": t,
                "author_id": c.get("author_id", self.api_user["id"]),
                "body": text, "html_body": c.get("html_body") or f"<p>{text}</p>",
                "plain_body": text, "public": bool(c.get("public", True)),
                "attachments": [], "audit_id": None,
                "via": {"channel": "api", "source": {"from": {}, "to": {}, "rel": None}},
                "metadata": {"system": {}, "custom": {}}, "created_at": iso(now),
            }
        elif c is not None and not isinstance(c, dict):
            return _err(400, "InvalidValue", "comment must be an object")
        new["updated_at"] = iso(now)
        vid = self.world.new_vid()
        if comment is not None:
            comment["audit_id"] = vid
            comment_vid = self.world.new_vid()
            self.comments.add_version(comment["id"], now, comment, comment_vid)
            self._written_comment_vids.add(comment_vid)
            self._comments_by_ticket.setdefault(t, []).append(comment["id"])
            self._written_comments[vid] = comment
            events.insert(0, {"type": "Comment", "id": comment["id"], "body": comment["body"],
                              "html_body": comment["html_body"], "public": comment["public"],
                              "author_id": comment["author_id"], "attachments": []})
        author = comment["author_id"] if comment else self.api_user["id"]
        self._updaters[vid] = author
        self.tickets.add_version(t, now, new, vid)
        for dirty in self._dirty.values():
            dirty.add(t)
        for i, e in enumerate(events, 1):
            e.setdefault("id", vid * 100 + i)
        audit = {"id": vid, "ticket_id": t, "created_at": iso(now), "author_id": author,
                 "metadata": {"system": {}, "custom": {}}, "via": {"channel": "api"},
                 "events": events}
        self.servers._record_write({"ticket_id": t, "at": iso(now), "request": upd,
                                    "comment": comment, "audit_id": vid})
        return Response(200, {"ticket": new, "audit": audit})
