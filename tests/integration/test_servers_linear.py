"""The Linear demo server: GraphQL over HTTP, relay pagination, filters, the as-of clock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests
from graphql import parse, print_ast

from tests.fixtures.tiny_world import build_tiny_world

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "vendor-contracts" / "linear"
OURS = (Path(__file__).resolve().parents[2] / "altor_sim" / "servers"
        / "linear_schema.graphql")

PAGE = """
query Issues($first: Int, $after: String, $filter: IssueFilter, $orderBy: PaginationOrderBy,
             $includeArchived: Boolean) {
  issues(first: $first, after: $after, filter: $filter, orderBy: $orderBy,
         includeArchived: $includeArchived) {
    nodes { id identifier title priority createdAt updatedAt completedAt canceledAt archivedAt
            url state { id name type } team { id key name } labels { nodes { id name } } }
    edges { cursor node { id } }
    pageInfo { hasNextPage endCursor hasPreviousPage startCursor }
  }
}"""


def _issue(n: int, created: str, updated: str, archived: str | None = None) -> dict:
    return {"id": f"iss_{n}", "identifier": f"ENG-{n}", "title": f"Noise {n}",
            "description": None, "priority": 3, "createdAt": created, "updatedAt": updated,
            "completedAt": None, "canceledAt": None, "archivedAt": archived,
            "state": {"id": "st_todo", "name": "Todo", "type": "unstarted"},
            "team": {"id": "team_eng", "key": "ENG"}, "labels": {"nodes": []},
            "url": f"https://linear.app/acme/issue/ENG-{n}"}


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
    """The tiny world plus five noise issues (one archived; two updated at the same instant)."""
    root = build_tiny_world(tmp_path_factory.mktemp("tiny"))
    d = "2026-{}T00:00:00.000Z".format
    rows = [
        (d("05-20"), _issue(2, d("05-20"), d("05-20"))),
        (d("05-21"), _issue(3, d("05-21"), d("05-21"))),
        (d("05-22"), _issue(4, d("05-22"), d("05-22"))),
        ("2026-06-01T12:00:00.000Z", _issue(3, d("05-21"), "2026-06-01T12:00:00.000Z")),
        ("2026-06-01T12:00:00.000Z", _issue(4, d("05-22"), "2026-06-01T12:00:00.000Z")),
        ("2026-06-02T09:00:00.000Z", _issue(5, "2026-06-02T09:00:00.000Z",
                                            "2026-06-02T09:00:00.000Z")),
        (d("05-23"), _issue(6, d("05-23"), d("05-24"), archived=d("05-24"))),
    ]
    with (root / "linear" / "issues.jsonl").open("a") as f:
        for at, obj in rows:
            f.write(json.dumps({"at": at, "object": obj}) + "\n")
    return root


@pytest.fixture()
def gql(servers):
    def run(query, variables=None, auth=None):
        headers = {"Authorization": servers.tokens["linear"] if auth is None else auth}
        r = requests.post(servers.urls["linear"], json={"query": query, "variables": variables},
                          headers={k: v for k, v in headers.items() if v}, timeout=10)
        return r.status_code, r.json()

    yield run
    servers.set_as_of(servers.world.end)


def walk(gql, **variables):
    ids, after = [], None
    while True:
        status, body = gql(PAGE, {**variables, "first": 2, "after": after})
        assert status == 200, body
        conn = body["data"]["issues"]
        ids += [n["id"] for n in conn["nodes"]]
        assert [e["node"]["id"] for e in conn["edges"]] == [n["id"] for n in conn["nodes"]]
        if not conn["pageInfo"]["hasNextPage"]:
            return ids
        after = conn["pageInfo"]["endCursor"]


def test_issues_page_newest_first_by_created_at_by_default(gql):
    assert walk(gql) == ["iss_5", "iss_1", "iss_4", "iss_3", "iss_2"]


def test_issues_page_by_updated_at_with_ties_by_id(gql):
    assert walk(gql, orderBy="updatedAt") == ["iss_5", "iss_1", "iss_4", "iss_3", "iss_2"]
    # iss_3 and iss_4 share updatedAt 12:00; iss_1 was updated at 14:50
    assert walk(gql, orderBy="updatedAt", includeArchived=True)[-2:] == ["iss_6", "iss_2"]


def test_updated_at_filter_returns_only_newer_issues(gql):
    flt = {"updatedAt": {"gt": "2026-06-01T12:00:00.000Z"}}
    assert walk(gql, filter=flt, orderBy="updatedAt") == ["iss_5", "iss_1"]
    either = {"or": [{"createdAt": {"lt": "2026-05-21T00:00:00.000Z"}},
                     {"updatedAt": {"gte": "2026-06-02T00:00:00.000Z"}}]}
    assert walk(gql, filter=either) == ["iss_5", "iss_2"]
    both = {"and": [{"team": {"key": {"eq": "ENG"}}}, {"state": {"type": {"eq": "completed"}}}]}
    assert walk(gql, filter=both) == ["iss_1"]
    assert walk(gql, filter={"labels": {"some": {"name": {"eq": "Bug"}}}}) == ["iss_1"]
    # durations are relative to the clock (the world's end, 2026-06-03)
    assert walk(gql, filter={"createdAt": {"gt": "-P2D"}}) == ["iss_5", "iss_1"]


def test_clock_hides_the_future_and_shows_the_issue_completed_after_it_moves(servers, gql):
    servers.set_as_of("2026-06-01T12:00:00Z")
    status, body = gql(PAGE, {"orderBy": "updatedAt"})
    nodes = body["data"]["issues"]["nodes"]
    assert [n["id"] for n in nodes] == ["iss_4", "iss_3", "iss_1", "iss_2"]
    eng1 = nodes[2]
    assert (eng1["state"]["type"], eng1["completedAt"]) == ("unstarted", None)
    since = max(n["updatedAt"] for n in nodes)
    servers.set_as_of("2026-06-01T15:00:00Z")
    status, body = gql(PAGE, {"filter": {"updatedAt": {"gt": since}}, "orderBy": "updatedAt"})
    changed = body["data"]["issues"]["nodes"]
    assert [(n["identifier"], n["state"]["name"], n["completedAt"]) for n in changed] == [
        ("ENG-1", "Done", "2026-06-01T14:50:00.000Z")]


def test_issue_by_id_or_identifier_and_not_found(gql):
    q = ("query($id: String!) { issue(id: $id) "
         "{ id identifier priority url labels { nodes { name } } } }")
    assert gql(q, {"id": "ENG-1"})[1]["data"]["issue"]["id"] == "iss_1"
    status, body = gql(q, {"id": "iss_1"})
    assert body["data"]["issue"] == {"id": "iss_1", "identifier": "ENG-1", "priority": 1.0,
                                     "url": "https://linear.app/acme/issue/ENG-1",
                                     "labels": {"nodes": [{"name": "Bug"}]}}
    status, body = gql(q, {"id": "nope"})
    assert status == 200 and body["data"] is None
    assert body["errors"][0]["message"] == "Entity not found: Issue"
    assert body["errors"][0]["extensions"]["code"] == "INPUT_ERROR"


@pytest.mark.parametrize("field,expected", [
    ("teams", ["team_eng"]), ("workflowStates", ["st_done", "st_prog", "st_todo"]),
    ("issueLabels", ["lbl_bug"]),
])
def test_other_connections_page_with_first_2(gql, field, expected):
    ids, after = [], None
    while True:
        q = f"query($after: String) {{ {field}(first: 2, after: $after) {{ nodes {{ id }} " \
            "pageInfo { hasNextPage endCursor } } }"
        conn = gql(q, {"after": after})[1]["data"][field]
        ids += [n["id"] for n in conn["nodes"]]
        if not conn["pageInfo"]["hasNextPage"]:
            break
        after = conn["pageInfo"]["endCursor"]
    assert sorted(ids) == sorted(expected) and len(ids) == len(set(ids))


def test_auth_is_enforced_as_linear_does(servers, gql):
    for auth in ("", "lin_api_wrong", "Bearer lin_api_wrong"):
        status, body = gql("{ issues { nodes { id } } }", auth=auth)
        assert status == 400
        err = body["errors"][0]
        assert err["message"] == "Authentication required, not authenticated"
        assert err["extensions"]["code"] == "AUTHENTICATION_ERROR"
    status, _ = gql("{ issues { nodes { id } } }", auth=f"Bearer {servers.tokens['linear']}")
    assert status == 200


def test_invalid_queries_are_graphql_errors(gql):
    status, body = gql("{ issues { nodes { colour } } }")
    assert status == 400
    assert body["errors"][0]["extensions"]["code"] == "GRAPHQL_VALIDATION_FAILED"
    status, body = gql("{ issues(first: 251) { nodes { id } } }")
    assert status == 200 and body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    status, body = gql(PAGE, {"filter": {"updatedAt": {"gt": "last tuesday"}}})
    assert status == 400 and "errors" in body
    status, body = gql("{ issues(")
    assert status == 400 and body["errors"][0]["extensions"]["code"] == "GRAPHQL_PARSE_FAILED"


def test_introspection_works_for_generic_graphql_clients(gql):
    status, body = gql("{ __schema { queryType { name } } __type(name: \"Issue\") { name } }")
    assert body["data"] == {"__schema": {"queryType": {"name": "Query"}},
                            "__type": {"name": "Issue"}}


def _fields(path: Path) -> dict[str, dict[str, str]]:
    out = {}
    for d in parse(path.read_text()).definitions:
        if getattr(d, "fields", None):
            out[d.name.value] = {f.name.value: print_ast(f.type) for f in d.fields}
        elif getattr(d, "values", None):
            out[d.name.value] = {v.name.value: "" for v in d.values}
    return out


def test_schema_is_a_faithful_subset_of_linears(gql):
    theirs, ours = _fields(CONTRACT / "schema.subset.graphql"), _fields(OURS)
    shared = set(theirs) & set(ours)
    assert {"Issue", "IssueConnection", "PageInfo", "IssueFilter", "DateComparator",
            "WorkflowState", "Team", "IssueLabel", "PaginationOrderBy"} <= shared
    for name in shared - {"Query"}:
        for field, typ in ours[name].items():
            assert theirs[name].get(field) == typ, f"{name}.{field}"
    for field in ("issues", "issue"):
        assert ours["Query"][field] == theirs["Query"][field]
    body = gql(PAGE, {"first": 1})[1]["data"]["issues"]
    assert set(body["pageInfo"]) == set(theirs["PageInfo"])
    assert set(body) == set(theirs["IssueConnection"])
