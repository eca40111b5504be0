"""The Zendesk demo server over the tiny world: real HTTP on loopback, values not shapes."""

from __future__ import annotations

import base64
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import yaml

from altor_sim.servers import start_servers
from altor_sim.world.reader import World, parse_time
from tests.fixtures.tiny_world import ROOT_CAUSE_FIELD, build_tiny_world
from tests.fixtures.vendor_http import rest_get

CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "vendor-contracts" / "zendesk"


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory):
    return build_tiny_world(tmp_path_factory.mktemp("tiny"))


@pytest.fixture()
def zd(servers):
    """GET helper with auth; resets the clock to the world's end after each test."""
    yield rest_get(servers, "zendesk", f"Bearer {servers.tokens['zendesk']}")
    servers.set_as_of(servers.world.end)


def walk_cursor_export(zd, start_time=0, per_page=2, **extra):
    """Follow after_url until end_of_stream; returns (tickets, last response body)."""
    body = zd("/api/v2/incremental/tickets/cursor", start_time=start_time, per_page=per_page,
              **extra).json()
    tickets = list(body["tickets"])
    while not body["end_of_stream"]:
        body = zd(body["after_url"]).json()
        tickets += body["tickets"]
    return tickets, body


def test_cursor_export_with_page_size_2_returns_each_ticket_once_in_generated_order(zd):
    tickets, last = walk_cursor_export(zd)
    assert [t["id"] for t in tickets] == [2, 1, 3, 4]  # by generated_timestamp, then id
    stamps = [t["generated_timestamp"] for t in tickets]
    assert stamps == sorted(stamps)
    assert {t["id"]: t["status"] for t in tickets} == {1: "solved", 2: "solved", 3: "new",
                                                       4: "deleted"}
    assert last["end_of_stream"] is True and last["after_cursor"]
    kept, _ = walk_cursor_export(zd, exclude_deleted="true")
    assert [t["id"] for t in kept] == [2, 1, 3]


def test_both_ticket_exports_sideload_the_metric_sets_of_their_pages(servers, zd):
    tickets, last = walk_cursor_export(zd, include="metric_sets")
    assert "include=metric_sets" in last["after_url"]  # the sideload follows the pages
    first = zd("/api/v2/incremental/tickets/cursor", start_time=0, per_page=2,
               include="metric_sets").json()
    assert [t["id"] for t in first["tickets"]] == [2, 1]
    assert [(m["id"], m["ticket_id"], m["replies"]) for m in first["metric_sets"]] == [
        (7002, 2, 1), (7001, 1, 1)]
    rest = zd(first["after_url"]).json()  # tickets 3 (no metrics yet) and 4 (deleted)
    assert [t["id"] for t in rest["tickets"]] == [3, 4] and rest["metric_sets"] == []
    assert "metric_sets" not in zd("/api/v2/incremental/tickets/cursor", start_time=0).json()
    timed = zd("/api/v2/incremental/tickets", start_time=0, include="metric_sets").json()
    assert [m["id"] for m in timed["metric_sets"]] == [7002, 7001]
    assert "include=metric_sets" in timed["next_page"]
    # a metric set is only what existed at the clock
    servers.set_as_of("2026-06-01T14:00:00Z")
    early = zd("/api/v2/incremental/tickets/cursor", start_time=0, include="metric_sets").json()
    assert [m["id"] for m in early["metric_sets"]] == [7002]


def test_export_envelope_and_ticket_keys_follow_the_contract(zd):
    shape = yaml.safe_load((CONTRACT / "incremental_ticket_export.shape.yaml").read_text())
    body = zd("/api/v2/incremental/tickets/cursor", start_time=0).json()
    assert set(body) == set(shape["endpoints"]["cursor_based"]["response_envelope"])
    assert set(shape["ticket_keys_in_documented_example"]) <= set(body["tickets"][0])
    timed = zd("/api/v2/incremental/tickets", start_time=0).json()
    assert set(timed) == set(shape["endpoints"]["time_based"]["response_envelope"])
    assert [t["id"] for t in timed["tickets"]] == [2, 1, 3, 4]


def test_clock_hides_the_future_and_the_cursor_resumes_with_just_the_changes(servers, zd):
    servers.set_as_of("2026-06-01T12:30:00Z")
    first, body = walk_cursor_export(zd)
    assert [(t["id"], t["status"], t["group_id"]) for t in first] == [(1, "open", 20),
                                                                      (2, "new", 10)]
    assert zd(body["after_url"]).json()["tickets"] == []  # nothing new at the same clock
    servers.set_as_of("2026-06-01T15:30:00Z")
    resumed = zd(body["after_url"]).json()
    assert [(t["id"], t["status"]) for t in resumed["tickets"]] == [(2, "solved"), (1, "solved")]
    cause = {f["id"]: f["value"] for f in resumed["tickets"][1]["custom_fields"]}
    assert cause[ROOT_CAUSE_FIELD] == "deploy_regression"
    assert resumed["end_of_stream"] is True


def test_ticket_events_replay_group_moves_and_status_changes(servers, zd):
    events, start = [], 0
    while True:
        body = zd("/api/v2/incremental/ticket_events", start_time=start, per_page=2).json()
        events += body["ticket_events"]
        start = body["end_time"]
        if body["end_of_stream"]:
            break
    world = World.load(servers.world.root)
    assert len(events) == world.collection("zendesk", "tickets").n_versions() == 8
    assert len({e["id"] for e in events}) == 8
    moves = [(e["ticket_id"], c["value"], c["previous_value"]) for e in events
             for c in e["child_events"] if c["event_type"] == "Change"
             and c["field_name"] == "group_id"]
    assert moves == [(1, "20", "10"), (2, "30", "10")]
    creates = [e["ticket_id"] for e in events
               if any(c["event_type"] == "Create" for c in e["child_events"])]
    assert creates == [1, 2, 3, 4]
    deleted = events[-1]["child_events"]
    assert (events[-1]["ticket_id"], deleted[0]["value"]) == (4, "deleted")
    assert set(body) == {"ticket_events", "next_page", "end_time", "end_of_stream", "count"}
    servers.set_as_of("2026-06-01T12:00:00Z")
    early = zd("/api/v2/incremental/ticket_events", start_time=0).json()["ticket_events"]
    # The 12:00 event is within the most recent minute: Zendesk leaves it for a later export.
    assert [e["timestamp"] for e in early] == [parse_time("2026-06-01T10:05:00Z"),
                                               parse_time("2026-06-01T11:00:00Z")]


@pytest.mark.parametrize("kind,ids", [
    ("organizations", [1, 2, 3]), ("users", [101, 102, 103, 900]), ("groups", [10, 20, 30]),
    ("ticket_fields", [ROOT_CAUSE_FIELD]), ("ticket_metrics", [7001, 7002]),
])
def test_lists_with_page_size_2_walk_every_object_once(zd, kind, ids):
    body = zd(f"/api/v2/{kind}", **{"page[size]": 2}).json()
    seen = [o["id"] for o in body[kind]]
    while body["meta"]["has_more"]:
        body = zd(body["links"]["next"]).json()
        seen += [o["id"] for o in body[kind]]
    assert seen == ids
    assert set(body) == {kind, "meta", "links"}
    assert set(body["meta"]) == {"has_more", "after_cursor", "before_cursor"}
    offset = zd(f"/api/v2/{kind}", per_page=2, page=1).json()
    assert offset["count"] == len(ids) and [o["id"] for o in offset[kind]] == ids[:2]


def test_incremental_users_and_organizations(zd):
    orgs = zd("/api/v2/incremental/organizations", start_time=0, per_page=2).json()
    # equal timestamps are never split across pages: all three orgs share one time
    assert [o["id"] for o in orgs["organizations"]] == [1, 2, 3]
    assert orgs["end_of_stream"] is True
    users = zd("/api/v2/incremental/users", start_time=0).json()
    assert sorted(u["id"] for u in users["users"]) == [101, 102, 103, 900]


def test_comments_are_paged_by_cursor_and_hidden_before_their_time(servers, zd):
    body = zd("/api/v2/tickets/1/comments", **{"page[size]": 2}).json()
    ids = [c["id"] for c in body["comments"]]
    assert body["meta"]["has_more"] is True
    body = zd("/api/v2/tickets/1/comments",
              **{"page[size]": 2, "page[after]": body["meta"]["after_cursor"]}).json()
    ids += [c["id"] for c in body["comments"]]
    assert ids == [5001, 5002, 5003] and body["meta"]["has_more"] is False
    servers.set_as_of("2026-06-01T12:30:00Z")
    assert [c["id"] for c in zd("/api/v2/tickets/1/comments").json()["comments"]] == [5001, 5002]
    assert zd("/api/v2/tickets/3/comments").status_code == 404  # ticket 3 does not exist yet


def test_metrics_follow_the_clock(servers, zd):
    servers.set_as_of("2026-06-01T14:00:00Z")
    assert [m["id"] for m in zd("/api/v2/ticket_metrics").json()["ticket_metrics"]] == [7002]
    assert zd("/api/v2/tickets/2/metrics").json()["ticket_metric"]["replies"] == 1


def test_show_ticket_and_not_found(servers, zd):
    assert zd("/api/v2/tickets/1.json").json()["ticket"]["status"] == "solved"
    assert zd("/api/v2/tickets/1").json()["ticket"]["id"] == 1
    gone = zd("/api/v2/tickets/4.json")
    assert gone.status_code == 404 and gone.json() == {"error": "RecordNotFound",
                                                       "description": "Not found"}
    missing = zd("/api/v2/nothing/here")
    assert missing.status_code == 404
    assert missing.json() == {"error": "InvalidEndpoint", "description": "Not found"}


def test_auth_is_enforced_with_zendesk_bodies(servers):
    url = servers.urls["zendesk"] + "/api/v2/groups"
    for headers in ({}, {"Authorization": "Bearer wrong"},
                    {"Authorization": "Basic " + base64.b64encode(b"a@b.c:password").decode()}):
        r = requests.get(url, headers=headers, timeout=10)
        assert r.status_code == 401 and r.json() == {"error": "Couldn't authenticate you"}
    basic = base64.b64encode(f"a@b.c/token:{servers.tokens['zendesk']}".encode()).decode()
    assert requests.get(url, headers={"Authorization": f"Basic {basic}"}, timeout=10).ok


def test_bad_parameters_are_answered_with_400(servers, zd):
    too_recent = int(servers.now) - 30
    for params in ({}, {"start_time": too_recent}, {"start_time": "yesterday"},
                   {"cursor": "not-a-cursor"}):
        r = zd("/api/v2/incremental/tickets/cursor", **params)
        assert r.status_code == 400 and set(r.json()) == {"error", "description"}
    r = zd("/api/v2/users", **{"page[size]": 101})
    assert r.status_code == 400 and r.json()["error"] == "InvalidPaginationParameter"


def test_injected_failure_answers_the_vendor_error_then_recovers(servers, zd):
    servers.fail_next("zendesk", "/api/v2/incremental", status=429, times=1)
    r = zd("/api/v2/incremental/tickets/cursor", start_time=0)
    assert r.status_code == 429 and r.headers["Retry-After"] == "1"
    assert r.json()["error"] == "APIRateLimitExceeded"
    assert zd("/api/v2/incremental/tickets/cursor", start_time=0).ok


def test_write_back_adds_an_internal_note_and_bumps_the_ticket(world_dir, tmp_path):
    with start_servers(world_dir, as_of="2026-06-02T18:00:00Z", state_dir=tmp_path) as s:
        h = {"Authorization": f"Bearer {s.tokens['zendesk']}"}
        base = s.urls["zendesk"]
        export = requests.get(base + "/api/v2/incremental/tickets/cursor",
                              params={"start_time": 0}, headers=h, timeout=10).json()
        assert export["end_of_stream"] is True
        listed = requests.get(base + "/api/v2/tickets", headers=h, timeout=10).json()["tickets"]
        assert [t["tags"] for t in listed if t["id"] == 3] == [[]]
        update = {"ticket": {
            "comment": {"body": "Diagnosis: deploy_regression (deploy 9001).", "public": False},
            "custom_fields": [{"id": ROOT_CAUSE_FIELD, "value": "deploy_regression"}],
            "additional_tags": ["altor_diagnosed"],
        }}
        r = requests.put(base + "/api/v2/tickets/3.json", json=update, headers=h, timeout=10)
        assert r.status_code == 200
        ticket, audit = r.json()["ticket"], r.json()["audit"]
        assert ticket["tags"] == ["altor_diagnosed"]
        assert ticket["updated_at"] == "2026-06-02T18:00:00Z"
        # the list at the same clock shows the write (the server's list cache follows writes)
        listed = requests.get(base + "/api/v2/tickets", headers=h, timeout=10).json()["tickets"]
        assert [t["tags"] for t in listed if t["id"] == 3] == [["altor_diagnosed"]]
        assert {e["type"] for e in audit["events"]} == {"Comment", "Change"}
        comments = requests.get(base + "/api/v2/tickets/3/comments", headers=h,
                                timeout=10).json()["comments"]
        assert [(c["body"], c["public"]) for c in comments] == [
            ("Diagnosis: deploy_regression (deploy 9001).", False)]
        assert len(s.writes) == 1 and s.writes[0]["ticket_id"] == 3
        assert (tmp_path / "writes.jsonl").read_text().count("\n") == 1
        resumed = requests.get(export["after_url"], headers=h, timeout=10).json()
        assert [t["id"] for t in resumed["tickets"]] == [3]
        cf = {f["id"]: f["value"] for f in resumed["tickets"][0]["custom_fields"]}
        assert cf[ROOT_CAUSE_FIELD] == "deploy_regression"
        s.set_as_of(s.as_of + timedelta(minutes=2))  # the export leaves out the last minute
        events = requests.get(base + "/api/v2/incremental/ticket_events", headers=h, timeout=10,
                              params={"start_time": int(s.now) - 3600}).json()["ticket_events"]
        changes = {(c.get("field_name"), c.get("value")) for c in events[-1]["child_events"]}
        assert (str(ROOT_CAUSE_FIELD), "deploy_regression") in changes
        assert requests.put(base + "/api/v2/tickets/99", json=update, headers=h,
                            timeout=10).status_code == 404
        assert requests.put(base + "/api/v2/tickets/3", data="nope", headers=h,
                            timeout=10).status_code == 400
