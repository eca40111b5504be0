"""The GitHub demo server: newest first, per_page/page with a Link header as GitHub writes it."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import requests

from tests.fixtures.tiny_world import build_tiny_world
from tests.fixtures.vendor_http import rest_get

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "vendor-contracts" / "github"
API = "https://api.github.com/repos/acme/api"
LINK = re.compile(r'<([^>]+)>; rel="(next|last|prev|first)"')


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
    """The tiny world plus three deployments of another service to staging."""
    root = build_tiny_world(tmp_path_factory.mktemp("tiny"))
    with (root / "github" / "deployments.jsonl").open("a") as f:
        for i, at in ((9003, "2026-06-02T10:00:00Z"), (9004, "2026-06-02T11:00:00Z"),
                      (9005, "2026-06-02T12:00:00Z")):
            f.write(json.dumps({"at": at, "object": {
                "url": f"{API}/deployments/{i}", "id": i, "sha": "c" * 40, "ref": "main",
                "task": "deploy", "payload": {"service": "search"}, "environment": "staging",
                "description": "deploy", "created_at": at, "updated_at": at,
                "statuses_url": f"{API}/deployments/{i}/statuses", "repository_url": API,
                "production_environment": False}}) + "\n")
    return root


@pytest.fixture()
def gh(servers):
    yield rest_get(servers, "github", f"token {servers.tokens['github']}")
    servers.set_as_of(servers.world.end)


def walk(gh, path, **params):
    r = gh(path, per_page=2, **params)
    seen = [o.get("id", o.get("sha")) for o in r.json()]
    while 'rel="next"' in r.headers.get("Link", ""):
        nxt = dict((rel, url) for url, rel in LINK.findall(r.headers["Link"]))["next"]
        r = gh(nxt)
        seen += [o.get("id", o.get("sha")) for o in r.json()]
    return seen


@pytest.mark.parametrize("path,expected", [
    ("/repos/acme/api/deployments", [9005, 9004, 9003, 9002, 9001]),
    ("/repos/acme/api/deployments/9001/statuses", [1]),
    ("/repos/acme/api/releases", [1]),
    ("/repos/acme/api/commits", ["b" * 40, "a" * 40]),
])
def test_every_list_with_per_page_2_walks_each_object_once_newest_first(gh, path, expected):
    assert walk(gh, path) == expected


def test_link_header_uses_githubs_syntax(servers, gh):
    base = servers.urls["github"] + "/repos/acme/api/deployments"
    first = gh("/repos/acme/api/deployments", per_page=2)
    assert first.headers["Link"] == (f'<{base}?per_page=2&page=2>; rel="next", '
                                     f'<{base}?per_page=2&page=3>; rel="last"')
    middle = gh("/repos/acme/api/deployments", per_page=2, page=2)
    assert middle.headers["Link"] == (
        f'<{base}?per_page=2&page=1>; rel="prev", <{base}?per_page=2&page=3>; rel="next", '
        f'<{base}?per_page=2&page=3>; rel="last", <{base}?per_page=2&page=1>; rel="first"')
    last = gh("/repos/acme/api/deployments", per_page=2, page=3, environment="staging")
    assert last.json() == [] and "environment=staging" in last.headers["Link"]
    example = json.loads((CONTRACT / "list_endpoints.openapi-subset.json").read_text())
    assert LINK.findall(example["components"]["headers"]["link"]["example"])
    assert "Link" not in gh("/repos/acme/api/releases").headers


def test_per_page_above_100_is_capped(servers, gh):
    r = gh("/repos/acme/api/deployments", per_page=500, page=2)
    assert r.json() == [] and "per_page=100&page=1" in r.headers["Link"]
    assert len(gh("/repos/acme/api/deployments", per_page=500).json()) == 5
    assert len(gh("/repos/acme/api/deployments").json()) == 5  # default 30


def test_deployment_filters(gh):
    def ids(**p):
        return [d["id"] for d in gh("/repos/acme/api/deployments", **p).json()]

    assert ids(environment="production") == [9002, 9001]
    assert ids(sha="b" * 40) == [9002]
    assert ids(ref="main", task="deploy", environment="staging") == [9005, 9004, 9003]
    assert gh("/repos/acme/api/deployments/9002").json()["description"] == "revert"


def test_list_commits_omits_files_and_get_commit_has_them(gh):
    listed = gh("/repos/acme/api/commits").json()
    assert all("files" not in c for c in listed)
    full = gh(f"/repos/acme/api/commits/{'a' * 40}").json()
    assert full["files"] == [{"filename": "services/charges/handler.py"}]
    assert gh("/repos/acme/api/commits/aaaaaaa").json()["sha"] == "a" * 40
    keys = set(json.loads((CONTRACT / "list_commits.200.json").read_text())[0])
    assert set(listed[0]) <= keys | {"files"}


def test_commit_since_until_and_sha(gh):
    def shas(**p):
        return [c["sha"][0] for c in gh("/repos/acme/api/commits", **p).json()]

    assert shas(since="2026-06-01T12:00:00Z") == ["b"]
    assert shas(until="2026-06-01T12:00:00Z") == ["a"]
    assert shas(sha="a" * 40) == ["a"]
    assert shas(path="services/charges") == ["b", "a"]
    assert gh("/repos/acme/api/commits", since="soon").status_code == 422


def test_clock_hides_future_deployments_and_commits(servers, gh):
    servers.set_as_of("2026-06-01T12:00:00Z")
    assert [d["id"] for d in gh("/repos/acme/api/deployments").json()] == [9001]
    assert gh("/repos/acme/api/deployments/9002").status_code == 404
    r = gh(f"/repos/acme/api/commits/{'b' * 40}")
    assert r.status_code == 422 and r.json()["message"].startswith("No commit found for SHA")
    servers.set_as_of("2026-06-01T15:00:00Z")
    assert [d["id"] for d in gh("/repos/acme/api/deployments").json()] == [9002, 9001]
    statuses = gh("/repos/acme/api/deployments/9002/statuses").json()
    assert [(s["id"], s["state"]) for s in statuses] == [(2, "success")]


def test_served_objects_are_the_worlds_and_carry_the_contract_keys(servers, gh):
    dep = gh("/repos/acme/api/deployments/9001").json()
    contract = set(json.loads((CONTRACT / "list_deployments.200.json").read_text())[0])
    world = json.loads((servers.world.root / "github" / "deployments.jsonl")
                       .read_text().splitlines()[0])["object"]
    base = servers.urls["github"]
    assert dep["statuses_url"] == f"{base}/repos/acme/api/deployments/9001/statuses"
    rebased = {k: v.replace("https://api.github.com", base) if isinstance(v, str) else v
               for k, v in world.items()}
    assert dep == rebased and set(world) & contract <= set(dep)


def test_auth_unknown_repo_and_unknown_path(servers, gh):
    url = servers.urls["github"] + "/repos/acme/api/releases"
    r = requests.get(url, timeout=10)
    assert r.status_code == 401 and r.json()["message"] == "Requires authentication"
    r = requests.get(url, headers={"Authorization": "token nope"}, timeout=10)
    assert r.status_code == 401 and r.json()["message"] == "Bad credentials"
    assert "documentation_url" in r.json()
    assert requests.get(url, headers={"Authorization": f"Bearer {servers.tokens['github']}"},
                        timeout=10).ok
    for path in ("/repos/other/repo/releases", "/repos/acme/api/unicorns", "/user/repos"):
        r = gh(path)
        assert r.status_code == 404 and r.json()["message"] == "Not Found"


def test_pygithub_pages_through_the_server_unchanged(servers):
    from datetime import UTC, datetime

    from github import Auth, Github

    g = Github(base_url=servers.urls["github"], auth=Auth.Token(servers.tokens["github"]),
               per_page=2, retry=None)
    repo = g.get_repo("acme/api")
    assert repo.full_name == "acme/api"
    assert [d.id for d in repo.get_deployments()] == [9005, 9004, 9003, 9002, 9001]
    assert [d.id for d in repo.get_deployments(environment="production")] == [9002, 9001]
    assert [s.id for s in repo.get_deployment(9002).get_statuses()] == [2]
    assert [r.tag_name for r in repo.get_releases()] == ["v1.0.0"]
    since = datetime(2026, 6, 1, 12, tzinfo=UTC)
    assert [c.sha for c in repo.get_commits(since=since)] == ["b" * 40]
    assert [f.filename for f in repo.get_commit("a" * 40).files] == ["services/charges/handler.py"]
