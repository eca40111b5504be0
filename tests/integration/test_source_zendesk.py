"""The Zendesk source against the demo servers serving the tiny world, page size 2."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from altor_pipelines.delivery.live import LIVE_ZENDESK_RESOURCES
from altor_pipelines.errors import SourceError
from altor_pipelines.sources.sync import make_pipeline
from altor_pipelines.sources.zendesk import zendesk_source
from altor_sim.servers import start_servers
from tests.fixtures.tiny_world import build_tiny_world
from tests.integration.test_source_support import (
    LONG_AGO,
    TINY_END,
    TINY_MID,
    Runner,
    count,
    killed_run,
    n_versions,
    pages,
    pages_by_path,
    query,
    run_through_failures,
    source_error_in,
    table_counts,
    ts,
    world_as_of,
)

PAGE = 2
EXPORTS = ("/api/v2/incremental/tickets/cursor", "/api/v2/incremental/ticket_events",
           "/api/v2/incremental/organizations", "/api/v2/incremental/users")
FULL_LISTS = {"/api/v2/groups": "groups", "/api/v2/ticket_fields": "ticket_fields"}


def runner(servers, tmp: Path, auth: str = "bearer") -> Runner:
    return Runner("zendesk", tmp, lambda: zendesk_source(
        servers.urls["zendesk"], "agent@acme.test", servers.tokens["zendesk"], LONG_AGO,
        page_size=PAGE, auth=auth, backoff_seconds=0.01))


def comments_between_versions(world: Path, at: str) -> int:
    """Comments made (by `at`) when their ticket had no version: each is an audit of its own."""
    def lines(name: str) -> list[dict]:
        return [json.loads(x) for x in (world / "zendesk" / f"{name}.jsonl").read_text()
                .splitlines() if x.strip()]
    made = {(r["object"]["id"], ts(r["at"])) for r in lines("tickets")}
    return sum(1 for r in lines("ticket_comments") if ts(r["at"]) <= ts(at)
               and (r["object"]["ticket_id"], ts(r["at"])) not in made)


def assert_equals_world(wh: Path, world: Path, at: str) -> None:
    tickets = world_as_of(world, "zendesk", "tickets", at, keep_deleted=True)
    got = dict(query(wh, "SELECT id, status FROM raw_zendesk.tickets"))
    assert got == {i: ("deleted" if t.get("deleted") else t["status"]) for i, t in tickets.items()}
    assert count(wh, "raw_zendesk.tickets") == len(tickets)
    comments = set(world_as_of(world, "zendesk", "ticket_comments", at))
    assert {r[0] for r in query(wh, "SELECT id FROM raw_zendesk.ticket_comments")} == comments
    for table in ("organizations", "users", "groups", "ticket_fields", "ticket_metrics"):
        ids = {r[0] for r in query(wh, f"SELECT id FROM raw_zendesk.{table}")}
        assert ids == set(world_as_of(world, "zendesk", table, at)), table
    assert count(wh, "raw_zendesk.ticket_events") == (
        n_versions(world, "zendesk", "tickets", at) + comments_between_versions(world, at))
    for table, n in table_counts(wh, "raw_zendesk").items():
        if table != "_quarantine":
            key = "id"
            assert n == query(wh, f'SELECT count(DISTINCT {key}) FROM raw_zendesk."{table}"')[0][0]


def test_second_run_adds_no_rows_and_fetches_one_page_per_export(tiny_world, tmp_path):
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        r = runner(servers, tmp_path)
        r.run()
        before = table_counts(r.warehouse, "raw_zendesk")
        cursor = r.state("tickets")["cursor"]
        servers.clear_requests()
        r.run()
        seen = pages_by_path(servers, "zendesk")
        tickets_q = [q["query"] for q in servers.requests if q["path"] == EXPORTS[0]]
    assert table_counts(r.warehouse, "raw_zendesk") == before
    for path in EXPORTS:
        assert seen[path] == 1, (path, seen)
    assert tickets_q == [{"per_page": ["2"], "include": ["metric_sets"], "cursor": [cursor]}]
    assert not any(p.endswith("/comments") for p in seen)  # no changed ticket, no comments
    # metrics come with the ticket export's pages, never from their own listing
    assert not any("metrics" in p for p in seen), seen
    # Groups and ticket fields have no export in Zendesk: listed in full each run.
    for path, name in FULL_LISTS.items():
        assert seen[path] == pages(len(world_as_of(tiny_world, "zendesk", name, TINY_END)), PAGE)


def test_advancing_the_clock_fetches_only_changes(tiny_world, tmp_path):
    with start_servers(tiny_world, as_of=TINY_MID) as servers:
        r = runner(servers, tmp_path)
        r.run()
        wh = r.warehouse
        assert query(wh, "SELECT status FROM raw_zendesk.tickets WHERE id = 1") == [("open",)]
        cursor = r.state("tickets")["cursor"]
        events_start = r.state("ticket_events")["start_time"]
        servers.set_as_of(TINY_END)
        servers.clear_requests()
        r.run()
        reqs = [q for q in servers.requests if q["vendor"] == "zendesk"]
    first_tickets = next(q for q in reqs if q["path"] == EXPORTS[0])
    assert first_tickets["query"]["cursor"] == [cursor]
    assert "start_time" not in first_tickets["query"]
    first_events = next(q for q in reqs if q["path"] == EXPORTS[1])
    assert first_events["query"]["start_time"] == [str(events_start)]
    # comments come with the events export's pages: no request per ticket
    assert not any(q["path"].endswith("/comments") for q in reqs)
    assert first_events["query"]["include"] == ["comment_events"]
    assert query(wh, "SELECT status FROM raw_zendesk.tickets WHERE id = 1") == [("solved",)]
    assert query(wh, "SELECT status FROM raw_zendesk.tickets WHERE id = 4") == [("deleted",)]
    assert_equals_world(wh, tiny_world, TINY_END)


def test_killed_run_then_rerun_loses_and_duplicates_nothing(tiny_world, tmp_path):
    with killed_run(tiny_world, tmp_path, runner, TINY_MID, "zendesk", EXPORTS[1],
                    401) as (err, r):
        assert "401" in str(err)
        assert err.endpoint == "/api/v2/incremental/ticket_events"
        # nothing of the failed run was loaded: ticket 1 still open
        assert query(r.warehouse, "SELECT status FROM raw_zendesk.tickets WHERE id = 1") == [
            ("open",)]
    assert_equals_world(r.warehouse, tiny_world, TINY_END)


def test_comments_come_with_the_event_export_even_between_ticket_versions(tmp_path):
    """Comments arrive in the events export's `comment_events` sideload, no request per ticket:
    one made when its ticket had no version of its own comes in an audit of its own, and one
    made in the export's most recent minute comes with the next run."""
    world = build_tiny_world(tmp_path / "world")
    between = {"id": 5010, "ticket_id": 2, "author_id": 102, "public": True,
               "body": "Any news?", "created_at": "2026-06-02T09:00:00Z"}
    late = {**between, "id": 5011, "body": "Still broken.", "created_at": "2026-06-02T09:59:30Z"}
    with (world / "zendesk" / "ticket_comments.jsonl").open("a") as f:
        for c in (between, late):
            f.write(json.dumps({"at": c["created_at"], "object": c}) + "\n")
    with start_servers(world, as_of="2026-06-02T10:00:00Z") as servers:
        r = runner(servers, tmp_path)
        r.run()
        wh = r.warehouse
        assert query(wh, "SELECT id, ticket_id, author_id, public, body FROM "
                         "raw_zendesk.ticket_comments WHERE id >= 5010") == [
            (5010, 2, 102, True, "Any news?")]
        events_q = [q["query"] for q in servers.requests if q["path"] == EXPORTS[1]]
        servers.set_as_of("2026-06-02T10:01:00Z")
        r.run()
        seen = pages_by_path(servers, "zendesk")
    assert events_q and all(q.get("include") == ["comment_events"] for q in events_q)
    assert query(wh, "SELECT id FROM raw_zendesk.ticket_comments WHERE id >= 5010 "
                     "ORDER BY id") == [(5010,), (5011,)]
    assert not any(p.endswith("/comments") for p in seen), seen
    # the audits are stored without their comments, which live in ticket_comments
    assert query(wh, "SELECT count(*) FROM raw_zendesk.ticket_events "
                     "WHERE contains(CAST(child_events AS VARCHAR), 'Any news')") == [(0,)]


def test_retries_5xx_and_429_then_loads_everything(tiny_world, tmp_path):
    seen = run_through_failures(tiny_world, tmp_path, runner, "zendesk",
                                (EXPORTS[0], 500, 2), ("/api/v2/users", 429, 1))
    assert seen[EXPORTS[0]] >= 3
    assert_equals_world(tmp_path / "warehouse.duckdb", tiny_world, TINY_END)


def test_basic_auth_with_api_token_works(tiny_world, tmp_path):
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        runner(servers, tmp_path, auth="basic").run()
    assert_equals_world(tmp_path / "warehouse.duckdb", tiny_world, TINY_END)


def test_wrong_token_is_a_source_error_without_the_token(tiny_world, tmp_path):
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        src = zendesk_source(servers.urls["zendesk"], "a@b.c", "not-the-token-123", LONG_AGO,
                             page_size=PAGE)
        with pytest.raises(Exception) as info:
            list(src.with_resources("groups"))
    err = source_error_in(info.value)
    assert isinstance(err, SourceError) and err.source == "zendesk"
    msg = str(err)
    assert "401" in msg and "endpoint=/api/v2/groups" in msg and "not-the-token-123" not in msg


def test_fresh_pipelines_dir_resumes_from_the_warehouse(tiny_world, tmp_path):
    with start_servers(tiny_world, as_of=TINY_MID) as servers:
        r = runner(servers, tmp_path)
        r.run()
        cursor = r.state("tickets")["cursor"]
        servers.set_as_of(TINY_END)
        servers.clear_requests()
        r.run(pipelines_dir=tmp_path / "fresh-dlt")
        first = next(q for q in servers.requests if q["path"] == EXPORTS[0])
    assert first["query"].get("cursor") == [cursor]
    assert_equals_world(r.warehouse, tiny_world, TINY_END)


def test_a_metric_update_alone_brings_the_ticket_and_its_metric_set_again(tmp_path):
    """Zendesk moves a ticket's `generated_timestamp` when its metrics change: a metric version
    with no ticket change after it reaches the warehouse through the export's sideload."""
    world = build_tiny_world(tmp_path / "world")
    reopened = {**world_as_of(world, "zendesk", "ticket_metrics", TINY_END)[7002], "reopens": 1,
                "updated_at": "2026-06-02T09:00:00Z"}
    with (world / "zendesk" / "ticket_metrics.jsonl").open("a") as f:
        f.write(json.dumps({"at": "2026-06-02T09:00:00Z", "object": reopened}) + "\n")
    with start_servers(world, as_of="2026-06-02T08:00:00Z") as servers:
        r = runner(servers, tmp_path)
        r.run()
        wh = r.warehouse
        assert query(wh, "SELECT reopens FROM raw_zendesk.ticket_metrics WHERE id = 7002") == [
            (0,)]
        servers.set_as_of("2026-06-02T10:00:00Z")
        servers.clear_requests()
        r.run()
        seen = pages_by_path(servers, "zendesk")
    assert query(wh, "SELECT reopens FROM raw_zendesk.ticket_metrics WHERE id = 7002") == [(1,)]
    assert query(wh, "SELECT id, ticket_id FROM raw_zendesk.ticket_metrics ORDER BY id") == [
        (7001, 1), (7002, 2)]
    assert not any("metrics" in p for p in seen), seen
    assert count(wh, "raw_zendesk.tickets") == 2


def test_a_deployment_synced_before_metric_sets_lists_its_metrics_once(tiny_world, tmp_path):
    """Earlier versions' live path moved the shared ticket cursor without loading metrics; the
    first full run after the upgrade lists every metric once, later runs never again, and a
    first sync never lists them."""
    with start_servers(tiny_world, as_of=TINY_MID) as servers:
        r = runner(servers, tmp_path)
        r.run()
        assert not any("metrics" in p for p in pages_by_path(servers, "zendesk"))
        pipeline = make_pipeline("zendesk", r.warehouse, r.pipelines_dir)
        with pipeline.managed_state() as state:  # the state such a deployment has
            state["sources"]["zendesk"]["resources"]["tickets"].pop("metric_sets")
        servers.set_as_of(TINY_END)  # ticket 1 solved at 15:00, its metric set with it
        pipeline.run(r.make_source().with_resources(  # what their live cycles selected
            "tickets", "ticket_comments", "ticket_events", "users", "organizations"))
        assert query(r.warehouse, "SELECT id FROM raw_zendesk.ticket_metrics") == [(7002,)]
        servers.clear_requests()
        r.run()
        listed = pages_by_path(servers, "zendesk")["/api/v2/ticket_metrics"]
        servers.clear_requests()
        r.run()
        again = pages_by_path(servers, "zendesk")["/api/v2/ticket_metrics"]
    assert (listed, again) == (pages(2, PAGE), 0)
    assert_equals_world(r.warehouse, tiny_world, TINY_END)


def test_the_live_path_selects_each_exports_tables_together():
    """Two tables fed by one export page share its cursor: selecting one without the other
    would move the cursor past rows the other never loads."""
    for pair in (("tickets", "ticket_metrics"), ("ticket_events", "ticket_comments")):
        assert set(pair) <= set(LIVE_ZENDESK_RESOURCES), pair


def test_comments_an_earlier_version_left_pending_become_quarantine_rows_once(tiny_world,
                                                                             tmp_path):
    """Earlier versions kept the tickets whose comments were refused, to retry them; the event
    export does not read those old comments, so each is reported once, not dropped."""
    with start_servers(tiny_world, as_of=TINY_END) as servers:
        r = runner(servers, tmp_path)
        r.run()
        pipeline = make_pipeline("zendesk", r.warehouse, r.pipelines_dir)
        with pipeline.managed_state() as state:  # what such a deployment's state holds
            state["sources"]["zendesk"]["comments_pending"] = {"3": "403 Forbidden"}
        r.run()
        r.run()
        state = make_pipeline("zendesk", r.warehouse, r.pipelines_dir).state
    rows = query(r.warehouse, "SELECT endpoint, field, record FROM raw_zendesk._quarantine")
    assert [(e, f, json.loads(rec)) for e, f, rec in rows] == [
        ("/api/v2/tickets/{ticket_id}/comments", "comments", {"ticket_id": "3"})]
    assert "comments_pending" not in state["sources"]["zendesk"]
