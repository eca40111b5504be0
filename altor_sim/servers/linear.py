"""Linear GraphQL API (POST /graphql) over a world, as of the servers' clock.

Executed by graphql-core against `linear_schema.graphql`, a subset of Linear's own schema.
Ordering: by `orderBy` (createdAt by default, or updatedAt), newest first, ties by id
descending; cursors are opaque and encode (sort value, id), so they stay valid while data
changes. `first`/`last` default to 50, at most 250.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLSchema,
    build_schema,
    execute,
    parse,
    validate,
)
from graphql.language import StringValueNode

from altor_sim.servers.http import Request, Response, VendorApp, b64, unb64
from altor_sim.world.reader import Collection, iso, parse_time

DEFAULT_PAGE = 50
MAX_PAGE = 250
PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}
_DURATION = re.compile(
    r"^(-)?P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?"
    r"(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$"
)


def _gql_error(message: str, code: str, type_: str, user_message: str | None = None,
               status: int = 400) -> GraphQLError:
    ext = {"type": type_, "code": code, "statusCode": status, "userError": True}
    if user_message:
        ext["userPresentableMessage"] = user_message
    return GraphQLError(message, extensions=ext)


def _check_date(value: Any) -> str:
    if not isinstance(value, str):
        raise GraphQLError("DateTimeOrDuration must be an ISO 8601 date-time or duration string")
    if not _DURATION.match(value):
        try:
            parse_time(value)
        except ValueError:
            raise GraphQLError(f"Invalid DateTimeOrDuration: {value!r}") from None
    return value


def _parse_literal(node: Any, _variables: Any = None) -> str:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("DateTimeOrDuration must be a string")
    return _check_date(node.value)


@functools.lru_cache(maxsize=1)
def schema() -> GraphQLSchema:
    sdl = (Path(__file__).with_name("linear_schema.graphql")).read_text()
    s = build_schema(sdl)
    scalar = s.type_map["DateTimeOrDuration"]
    scalar.parse_value = _check_date  # type: ignore[attr-defined]
    scalar.parse_literal = _parse_literal  # type: ignore[attr-defined]
    return s


def _date_value(value: str, now: float) -> float:
    m = _DURATION.match(value)
    if not m:
        return parse_time(value)
    sign, y, mo, w, d, h, mi, sec = m.groups()
    secs = (int(y or 0) * 365 * 86400 + int(mo or 0) * 30 * 86400 + int(w or 0) * 7 * 86400
            + int(d or 0) * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(sec or 0))
    return now - secs if sign else now + secs


def _cmp(value: Any, comp: dict, conv: Any = lambda x: x) -> bool:
    """Linear comparators: eq neq gt gte lt lte in nin null, and the string ones."""
    for op, arg in comp.items():
        if op == "null":
            if (value is None) != bool(arg):
                return False
            continue
        if value is None:
            return False
        v = conv(value)
        if op in ("in", "nin"):
            inside = v in [conv(a) for a in arg]
            if inside != (op == "in"):
                return False
            continue
        if op in ("eq", "neq", "gt", "gte", "lt", "lte"):
            a = conv(arg)
            ok = {"eq": v == a, "neq": v != a, "gt": v > a, "gte": v >= a, "lt": v < a,
                  "lte": v <= a}[op]
        else:  # string comparators
            s, a = str(value), str(arg)
            ok = {
                "contains": a in s, "notContains": a not in s,
                "containsIgnoreCase": a.lower() in s.lower(),
                "notContainsIgnoreCase": a.lower() not in s.lower(),
                "startsWith": s.startswith(a), "notStartsWith": not s.startswith(a),
                "endsWith": s.endswith(a), "notEndsWith": not s.endswith(a),
                "eqIgnoreCase": s.lower() == a.lower(), "neqIgnoreCase": s.lower() != a.lower(),
            }.get(op, True)
        if not ok:
            return False
    return True


DATE_FIELDS = {"createdAt", "updatedAt", "completedAt", "canceledAt", "archivedAt", "startedAt"}


def _matches(node: dict, flt: dict | None, now: float) -> bool:
    if not flt:
        return True
    for key, sub in flt.items():
        if sub is None:
            continue
        if key == "and":
            if not all(_matches(node, f, now) for f in sub):
                return False
        elif key == "or":
            if not any(_matches(node, f, now) for f in sub):
                return False
        elif key in DATE_FIELDS:
            if not _cmp(node.get(key), sub, lambda x: _date_value(x, now) if isinstance(x, str)
                        and _DURATION.match(x) else parse_time(x)):
                return False
        elif key in ("state", "team"):
            if not _matches(node.get(key) or {}, sub, now):
                return False
        elif key == "labels":
            if not _labels_match(node.get("_labels") or [], sub, now):
                return False
        elif key in ("priority", "number"):
            if not _cmp(node.get(key), sub, float):
                return False
        elif not _cmp(node.get(key), sub):
            return False
    return True


def _labels_match(labels: list[dict], flt: dict, now: float) -> bool:
    for key, sub in flt.items():
        if key == "and" and not all(_labels_match(labels, f, now) for f in sub):
            return False
        if key == "or" and not any(_labels_match(labels, f, now) for f in sub):
            return False
        if key == "some" and not any(_matches(lb, sub, now) for lb in labels):
            return False
        if key == "every" and not all(_matches(lb, sub, now) for lb in labels):
            return False
        if key == "none" and any(_matches(lb, sub, now) for lb in labels):
            return False
        if key == "length" and not _cmp(len(labels), sub, float):
            return False
        if key in ("id", "name", "createdAt", "updatedAt") and not any(
                _matches(lb, {key: sub}, now) for lb in labels):
            return False
    return True


def _connection(nodes: list[dict], args: dict, now: float, archived_ok: bool = False) -> dict:
    """Relay connection over `nodes`, newest first by `orderBy`, ties by id descending."""
    first, last = args.get("first"), args.get("last")
    for name, n in (("first", first), ("last", last)):
        if n is not None and (n < 0 or n > MAX_PAGE):
            raise _gql_error("Argument Validation Error", "INVALID_INPUT", "invalid input",
                             f"{name} must be between 0 and {MAX_PAGE}.")
    if first is not None and last is not None:
        raise _gql_error("Argument Validation Error", "INVALID_INPUT", "invalid input",
                         "Only one of first and last can be given.")
    field = args.get("orderBy") or "createdAt"
    include_archived = archived_ok or bool(args.get("includeArchived"))
    items = [n for n in nodes
             if (include_archived or not n.get("archivedAt"))
             and _matches(n, args.get("filter"), now)]
    keyed = sorted(((parse_time(n[field]), str(n["id"])), n) for n in items)
    keyed.reverse()

    def decode(c: str) -> tuple[float, str]:
        try:
            t, i = unb64(c)
            return float(t), str(i)
        except Exception:
            raise _gql_error("Invalid cursor", "INVALID_INPUT", "invalid input",
                             "The pagination cursor is not valid.") from None

    lo, hi = 0, len(keyed)
    if args.get("after"):
        a = decode(args["after"])
        lo = next((i for i, (k, _) in enumerate(keyed) if k < a), len(keyed))
    if args.get("before"):
        b = decode(args["before"])
        hi = next((i for i, (k, _) in enumerate(keyed) if k <= b), len(keyed))
        hi = max(hi, lo)
    window = keyed[lo:hi]
    if last is not None or (args.get("before") and first is None):
        n = DEFAULT_PAGE if last is None else last
        page = window[max(0, len(window) - n):]
        start = hi - len(page)
        has_prev, has_next = start > lo, hi < len(keyed)
    else:
        n = DEFAULT_PAGE if first is None else first
        page = window[:n]
        has_prev, has_next = lo > 0, lo + len(page) < hi
    edges = [{"node": node, "cursor": b64([k[0], k[1]])} for k, node in page]
    return {
        "nodes": [e["node"] for e in edges],
        "edges": edges,
        "pageInfo": {
            "hasNextPage": has_next, "hasPreviousPage": has_prev,
            "startCursor": edges[0]["cursor"] if edges else None,
            "endCursor": edges[-1]["cursor"] if edges else None,
        },
    }


class LinearApp(VendorApp):
    vendor = "linear"

    def __init__(self, servers: Any) -> None:
        super().__init__(servers)
        w = self.world
        self.issues = w.collection("linear", "issues")
        self.teams = w.collection("linear", "teams")
        self.states = w.collection("linear", "workflow_states")
        self.labels = w.collection("linear", "labels")
        self.workspace = w.meta.get("linear_workspace", "acme")
        self._cache: dict[float, dict[str, list[dict]]] = {}

    # -- auth and errors ---------------------------------------------------------------------
    def authenticate(self, req: Request) -> Response | None:
        auth = (req.headers.get("Authorization") or "").strip()
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else auth
        if req.path.rstrip("/") == "/graphql" and key == self.servers.tokens["linear"]:
            return None
        if req.path.rstrip("/") != "/graphql":
            return None  # unknown paths are answered by handle()
        return Response(400, {"errors": [{
            "message": "Authentication required, not authenticated",
            "extensions": {"type": "authentication error", "code": "AUTHENTICATION_ERROR",
                           "statusCode": 401, "userError": True,
                           "userPresentableMessage":
                               "You need to authenticate to access this operation."},
        }]})

    def error_body(self, status: int) -> Any:
        if status == 429:
            return {"errors": [{"message": "Rate limit exceeded",
                                "extensions": {"type": "ratelimited", "code": "RATELIMITED",
                                               "statusCode": 429, "userError": True}}]}
        return {"errors": [{"message": "Internal server error",
                            "extensions": {"type": "internal error", "code": "INTERNAL_ERROR",
                                           "statusCode": status, "userError": False}}]}

    # -- nodes as of the clock -------------------------------------------------------------------
    def _times(self, coll: Collection, oid: Any, obj: dict) -> tuple[str, str]:
        v = coll.state(oid, self.now)
        created = obj.get("createdAt") or iso(coll.first_at(oid) or 0, millis=True)
        updated = obj.get("updatedAt") or iso(v.at if v else 0, millis=True)
        return created, updated

    def _nodes(self) -> dict[str, list[dict]]:
        now = self.now
        cached = self._cache.get(now)
        if cached is not None:
            return cached
        teams: dict[Any, dict] = {}
        for oid, v in self.teams.visible(now):
            created, updated = self._times(self.teams, oid, v.obj)
            key = v.obj.get("key", str(oid))
            teams[oid] = {"archivedAt": None, "color": None, "description": None,
                          "name": key, "displayName": v.obj.get("name", key), **v.obj,
                          "createdAt": created, "updatedAt": updated}

        def team_of(ref: dict | None) -> dict:
            ref = ref or {}
            base = teams.get(ref.get("id"), {})
            key = ref.get("key") or base.get("key") or "TEAM"
            merged = {"archivedAt": None, "color": None, "description": None, "name": key,
                      "displayName": key, "key": key, "id": ref.get("id", key),
                      "createdAt": iso(self.world.start, True),
                      "updatedAt": iso(self.world.start, True), **base}
            return {**merged, **{k: v for k, v in ref.items() if v is not None}}

        states: dict[Any, dict] = {}
        for i, (oid, v) in enumerate(self.states.visible(now)):
            created, updated = self._times(self.states, oid, v.obj)
            states[oid] = {"archivedAt": None, "color": "#95a2b3", "description": None,
                           "position": float(i), **v.obj, "team": team_of(v.obj.get("team")),
                           "createdAt": created, "updatedAt": updated}
        labels: dict[Any, dict] = {}
        for oid, v in self.labels.visible(now):
            created, updated = self._times(self.labels, oid, v.obj)
            labels[oid] = {"archivedAt": None, "color": "#bec2c8", "description": None,
                           "isGroup": False, **v.obj,
                           "team": team_of(v.obj["team"]) if v.obj.get("team") else None,
                           "createdAt": created, "updatedAt": updated}
        issues = []
        for oid, v in self.issues.visible(now):
            obj = v.obj
            team = team_of(obj.get("team"))
            st_ref = obj.get("state") or {}
            state = {**states.get(st_ref.get("id"), {"archivedAt": None, "color": "#95a2b3",
                                                     "description": None, "position": 0.0,
                                                     "createdAt": team["createdAt"],
                                                     "updatedAt": team["updatedAt"]}),
                     **st_ref}
            state.setdefault("team", team)
            lbls = [{**labels.get(lb.get("id"), {"archivedAt": None, "color": "#bec2c8",
                                                 "description": None, "isGroup": False,
                                                 "team": None, "createdAt": team["createdAt"],
                                                 "updatedAt": team["updatedAt"]}), **lb}
                    for lb in ((obj.get("labels") or {}).get("nodes") or [])]
            ident = obj.get("identifier") or f"{team['key']}-0"
            number = obj.get("number") or int(ident.rsplit("-", 1)[-1] or 0)
            priority = obj.get("priority") or 0
            created, updated = self._times(self.issues, oid, obj)
            slug = re.sub(r"[^a-z0-9]+", "-", (obj.get("title") or "").lower()).strip("-")[:40]
            issues.append({
                "archivedAt": None, "canceledAt": None, "completedAt": None, "startedAt": None,
                "description": None, "dueDate": None, "estimate": None,
                "priorityLabel": PRIORITY_LABELS.get(int(priority), "No priority"),
                "branchName": f"{ident.lower()}-{slug}",
                "url": f"https://linear.app/{self.workspace}/issue/{ident}",
                **obj, "number": float(number), "priority": float(priority),
                "createdAt": created, "updatedAt": updated,
                "team": team, "state": state, "_labels": lbls,
                "labelIds": [lb["id"] for lb in lbls],
            })
        cached = {"issues": issues, "teams": list(teams.values()),
                  "workflowStates": list(states.values()), "issueLabels": list(labels.values())}
        if len(self._cache) > 8:
            self._cache.clear()
        self._cache[now] = cached
        return cached

    # -- resolvers ------------------------------------------------------------------------------
    def _resolvers(self) -> None:
        s = schema()
        q = s.query_type.fields  # type: ignore[union-attr]
        for name in ("issues", "teams", "workflowStates", "issueLabels"):
            q[name].resolve = functools.partial(_resolve_list, name)
        for name, kind, label in (("issue", "issues", "Issue"), ("team", "teams", "Team"),
                                  ("workflowState", "workflowStates", "WorkflowState"),
                                  ("issueLabel", "issueLabels", "IssueLabel")):
            q[name].resolve = functools.partial(_resolve_one, kind, label)
        s.type_map["Issue"].fields["labels"].resolve = _resolve_issue_labels  # type: ignore

    def handle(self, req: Request) -> Response:
        if req.path.rstrip("/") != "/graphql":
            return Response(404, {"errors": [{"message": f"Cannot {req.method} {req.path}"}]})
        if req.method != "POST":
            return Response(405, {"errors": [{"message": "Use POST for GraphQL requests."}]},
                            {"Allow": "POST"})
        body = req.json
        if not isinstance(body, dict) or not isinstance(body.get("query"), str) \
                or not body["query"].strip():
            return Response(400, {"errors": [{
                "message": "GraphQL operations must contain a non-empty `query`.",
                "extensions": {"type": "graphql error", "code": "BAD_REQUEST",
                               "userError": True}}]})
        s = schema()
        if s.query_type.fields["issues"].resolve is None:  # type: ignore[union-attr]
            self._resolvers()
        try:
            document = parse(body["query"])
        except GraphQLError as e:
            return Response(400, {"errors": [{**e.formatted, "extensions": {
                "type": "graphql error", "code": "GRAPHQL_PARSE_FAILED", "userError": True}}]})
        errors = validate(s, document)
        if errors:
            return Response(400, {"errors": [{**e.formatted, "extensions": {
                "type": "graphql error", "code": "GRAPHQL_VALIDATION_FAILED",
                "userError": True}} for e in errors]})
        with self.world.lock:
            nodes = self._nodes()
        result = execute(s, document, variable_values=body.get("variables") or None,
                         operation_name=body.get("operationName"),
                         context_value={"nodes": nodes, "now": self.now})
        out: dict[str, Any] = {"data": result.data}
        status = 200
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
            if result.data is None and all(not e.path for e in result.errors):
                status = 400  # variables that do not coerce: a bad request, as Linear answers
                for e in out["errors"]:
                    e.setdefault("extensions", {"type": "graphql error",
                                                "code": "BAD_USER_INPUT", "userError": True})
        return Response(status, out)


def _resolve_list(kind: str, _root: Any, info: Any, **args: Any) -> dict:
    ctx = info.context
    return _connection(ctx["nodes"][kind], args, ctx["now"])


def _resolve_one(kind: str, label: str, _root: Any, info: Any, id: str) -> dict:
    for node in info.context["nodes"][kind]:
        if node["id"] == id or (kind == "issues" and node.get("identifier") == id):
            return node
    raise _gql_error(f"Entity not found: {label}", "INPUT_ERROR", "invalid input",
                     f"Could not find referenced {label}.")


def _resolve_issue_labels(issue: dict, info: Any, **args: Any) -> dict:
    return _connection(issue.get("_labels") or [], args, info.context["now"])
