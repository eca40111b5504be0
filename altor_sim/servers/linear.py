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

from altor_sim.servers.http import Request, Response, VendorApp
from altor_sim.servers.linear_filters import (
    check_date,
    connection,
    gql_error,
)
from altor_sim.world.reader import Collection, iso

PRIORITY_LABELS = {0: "No priority", 1: "Urgent", 2: "High", 3: "Medium", 4: "Low"}


def _parse_literal(node: Any, _variables: Any = None) -> str:
    if not isinstance(node, StringValueNode):
        raise GraphQLError("DateTimeOrDuration must be a string")
    return check_date(node.value)


@functools.lru_cache(maxsize=1)
def schema() -> GraphQLSchema:
    sdl = (Path(__file__).with_name("linear_schema.graphql")).read_text()
    s = build_schema(sdl)
    scalar = s.type_map["DateTimeOrDuration"]
    scalar.parse_value = check_date  # type: ignore[attr-defined]
    scalar.parse_literal = _parse_literal  # type: ignore[attr-defined]
    return s


class LinearApp(VendorApp):
    vendor = "linear"

    def __init__(self, servers: Any) -> None:
        super().__init__(servers)
        self.issues = self.collection("issues")
        self.teams = self.collection("teams")
        self.states = self.collection("workflow_states")
        self.labels = self.collection("labels")
        self.workspace = self.world.meta.get("linear_workspace", "acme")
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
    return connection(ctx["nodes"][kind], args, ctx["now"])


def _resolve_one(kind: str, label: str, _root: Any, info: Any, id: str) -> dict:
    for node in info.context["nodes"][kind]:
        if node["id"] == id or (kind == "issues" and node.get("identifier") == id):
            return node
    raise gql_error(f"Entity not found: {label}", "INPUT_ERROR", "invalid input",
                     f"Could not find referenced {label}.")


def _resolve_issue_labels(issue: dict, info: Any, **args: Any) -> dict:
    return connection(issue.get("_labels") or [], args, info.context["now"])
