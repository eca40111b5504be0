"""The Linear source (GraphQL) against the demo servers serving the tiny world, page size 2."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from altor_pipelines.errors import SourceError
from altor_pipelines.sources.linear import LinearClient, linear_source
from altor_sim.servers import start_servers
from tests.integration.test_source_support import (
    TINY_END,
    Runner,
    advanced,
    count,
    killed_run,
    query,
    rerun_at_end,
    world_as_of,
)

PAGE = 2
BEFORE_DONE = "2026-06-01T14:00:00Z"  # ENG-1 exists, in Todo; completed at 14:50


def runner(servers, tmp: Path) -> Runner:
    return Runner("linear", tmp, lambda: linear_source(
        servers.urls["linear"], servers.tokens["linear"], page_size=PAGE, backoff_seconds=0.01))


def issue_queries(servers_or_requests) -> list[dict]:
    requests = getattr(servers_or_requests, "requests", servers_or_requests)
    return [r["json"]["variables"] for r in requests
            if r["vendor"] == "linear" and "issues(" in r["json"]["query"]]


def assert_equals_world(wh: Path, world: Path, at: str) -> None:
    issues = world_as_of(world, "linear", "issues", at)
    got = {r[0]: r[1:] for r in query(
        wh, "SELECT id, identifier, state__type, completed_at IS NOT NULL FROM raw_linear.issues")}
    assert got == {i: (o["identifier"], o["state"]["type"], o["completedAt"] is not None)
                   for i, o in issues.items()}
    for table, name in (("teams", "teams"), ("workflow_states", "workflow_states"),
                        ("labels", "labels")):
        assert {r[0] for r in query(wh, f"SELECT id FROM raw_linear.{table}")} == set(
            world_as_of(world, "linear", name, at)), table
    assert count(wh, "raw_linear.issues") == len(issues)


def list_queries(servers_or_requests, field: str) -> list[dict]:
    requests = getattr(servers_or_requests, "requests", servers_or_requests)
    return [r["json"]["variables"] for r in requests
            if r["vendor"] == "linear" and f" {field}(" in r["json"]["query"]]


SMALL_FIELDS = ("teams", "workflowStates", "issueLabels")


def test_second_run_adds_no_rows_and_fetches_one_issue_page(tiny_world, tmp_path):
    _, requests = rerun_at_end(tiny_world, tmp_path, runner, "raw_linear")
    issue_pages = issue_queries(requests)
    assert issue_pages == [{"orderBy": "updatedAt", "first": PAGE, "after": None,
                            "filter": {"updatedAt": {"gt": "2026-06-01T14:50:00.000Z"}}}]
    # teams, workflow states and labels: one page each, of what changed since the last run
    for field in SMALL_FIELDS:
        assert list_queries(requests, field) == [
            {"orderBy": "updatedAt", "first": PAGE, "after": None,
             "filter": {"updatedAt": {"gt": "2026-01-01T00:00:00.000Z"}}}], field


def test_a_renamed_label_and_a_new_state_come_alone_in_the_next_run(tiny_world, tmp_path):
    world = tmp_path / "world"
    shutil.copytree(tiny_world, world)
    with (world / "linear" / "labels.jsonl").open("a") as f:
        f.write(json.dumps({"at": "2026-06-01T12:00:00Z",
                            "object": {"id": "lbl_bug", "name": "Defect"}}) + "\n")
    with (world / "linear" / "workflow_states.jsonl").open("a") as f:
        f.write(json.dumps({"at": "2026-06-01T12:30:00Z", "object": {
            "id": "st_review", "name": "In Review", "type": "started",
            "team": {"id": "team_eng"}}}) + "\n")
    with advanced(world, tmp_path / "run", runner, BEFORE_DONE.replace("14:00", "11:00")) as (
            r, servers):
        r.run()
        labels = list_queries(servers, "issueLabels")
        states = list_queries(servers, "workflowStates")
        teams = list_queries(servers, "teams")
    since = {"updatedAt": {"gt": "2026-01-01T00:00:00.000Z"}}
    assert [q["filter"] for q in labels + states + teams] == [since] * 3
    assert query(r.warehouse, "SELECT id, name FROM raw_linear.labels") == [("lbl_bug", "Defect")]
    assert sorted(query(r.warehouse, "SELECT id FROM raw_linear.workflow_states")) == [
        ("st_done",), ("st_prog",), ("st_review",), ("st_todo",)]
    assert_equals_world(r.warehouse, world, TINY_END)


def test_advancing_the_clock_fetches_only_updated_issues(tiny_world, tmp_path):
    with start_servers(tiny_world, as_of=BEFORE_DONE) as servers:
        r = runner(servers, tmp_path)
        r.run()
        assert query(r.warehouse, "SELECT state__type FROM raw_linear.issues") == [("unstarted",)]
        servers.set_as_of(TINY_END)
        servers.clear_requests()
        r.run()
        issue_pages = issue_queries(servers)
    assert [p["filter"] for p in issue_pages] == [
        {"updatedAt": {"gt": "2026-06-01T10:40:00.000Z"}}]
    assert query(r.warehouse, "SELECT state__type, completed_at FROM raw_linear.issues")[0][0] == (
        "completed")
    assert_equals_world(r.warehouse, tiny_world, TINY_END)


def test_killed_run_then_rerun_loses_and_duplicates_nothing(tiny_world, tmp_path):
    with killed_run(tiny_world, tmp_path, runner, BEFORE_DONE, "linear", "/graphql",
                    401) as (err, r):
        assert "401" in str(err)
    assert_equals_world(r.warehouse, tiny_world, TINY_END)


def test_graphql_errors_name_the_query(tiny_world):
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        client = LinearClient(servers.urls["linear"], servers.tokens["linear"])
        with pytest.raises(SourceError) as info:
            client.query("broken", "query broken { issues { nodes { noSuchField } } }", {})
    assert "broken" in str(info.value) and "noSuchField" in str(info.value)
    assert servers.tokens["linear"] not in str(info.value)


def test_fresh_pipelines_dir_resumes_from_the_warehouse(tiny_world, tmp_path):
    with advanced(tiny_world, tmp_path, runner, BEFORE_DONE) as (r, servers):
        r.run(pipelines_dir=tmp_path / "fresh-dlt")
        issue_pages = issue_queries(servers)
    assert issue_pages[0]["filter"] == {"updatedAt": {"gt": "2026-06-01T10:40:00.000Z"}}
    assert_equals_world(r.warehouse, tiny_world, TINY_END)
