"""The GitHub source against the demo servers serving the tiny world, page size 2."""

from __future__ import annotations

from pathlib import Path

from altor_pipelines.sources.github import github_source
from altor_sim.servers import start_servers
from tests.integration.test_source_support import (
    TINY_END,
    Runner,
    advanced,
    killed_run,
    pages_by_path,
    query,
    rerun_at_end,
    world_as_of,
)

PAGE = 2
BETWEEN = "2026-06-01T14:00:00Z"  # deployment 9001 done; revert 9002 at 14:45 not yet
REPO = "/repos/acme/api"


def runner(servers, tmp: Path) -> Runner:
    return Runner("github", tmp, lambda: github_source(
        servers.urls["github"], servers.tokens["github"], "acme/api", page_size=PAGE,
        backoff_seconds=0.01))


def assert_equals_world(wh: Path, world: Path, at: str) -> None:
    for table in ("deployments", "deployment_statuses", "releases"):
        rows = query(wh, f"SELECT id FROM raw_github.{table}")
        assert sorted(r[0] for r in rows) == sorted(world_as_of(world, "github", table, at))
    commits = world_as_of(world, "github", "commits", at, key="sha")
    rows = query(wh, "SELECT sha, files FROM raw_github.commits")
    assert sorted(r[0] for r in rows) == sorted(commits)
    assert all(r[1] not in (None, "[]") for r in rows)  # files came from GET /commits/{sha}


def test_second_run_adds_no_rows_and_fetches_one_page_per_endpoint(tiny_world, tmp_path):
    _, requests = rerun_at_end(tiny_world, tmp_path, runner, "raw_github")
    seen = pages_by_path(requests, "github")
    # every deployment's latest status is terminal: no status request at all
    assert seen == {f"{REPO}/deployments": 1, f"{REPO}/releases": 1, f"{REPO}/commits": 1}


def test_advancing_the_clock_stops_at_the_first_known_page(tiny_world, tmp_path):
    with advanced(tiny_world, tmp_path, runner, BETWEEN) as (r, servers):
        r.run()
        seen = pages_by_path(servers, "github")
    assert seen == {f"{REPO}/deployments": 1, f"{REPO}/releases": 1, f"{REPO}/commits": 1,
                    f"{REPO}/deployments/9002/statuses": 1, f"{REPO}/commits/" + "b" * 40: 1}
    assert query(r.warehouse, "SELECT payload__service FROM raw_github.deployments "
                              "WHERE id = 9002") == [("charges",)]
    assert_equals_world(r.warehouse, tiny_world, TINY_END)


def test_killed_run_then_rerun_loses_and_duplicates_nothing(tiny_world, tmp_path):
    with killed_run(tiny_world, tmp_path, runner, BETWEEN, "github", f"{REPO}/commits/",
                    404) as (err, r):
        assert err.record == "b" * 40
        assert query(r.warehouse, "SELECT count(*) FROM raw_github.deployments") == [(1,)]
    assert_equals_world(r.warehouse, tiny_world, TINY_END)


def test_fresh_pipelines_dir_resumes_from_the_warehouse(tiny_world, tmp_path):
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        r = runner(servers, tmp_path)
        r.run()
        servers.clear_requests()
        r.run(pipelines_dir=tmp_path / "fresh-dlt")
        seen = pages_by_path(servers, "github")
    assert seen == {f"{REPO}/deployments": 1, f"{REPO}/releases": 1, f"{REPO}/commits": 1}
    assert_equals_world(r.warehouse, tiny_world, TINY_END)
