"""Reading a world: versions per object, state as of T (altor-world/1)."""

from __future__ import annotations

import json

import pytest

from altor_pipelines.errors import WorldFormatError
from altor_sim.world.reader import World, iso, parse_time
from tests.fixtures.tiny_world import build_tiny_world


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    return World.load(build_tiny_world(tmp_path_factory.mktemp("tiny")))


def test_every_vendor_file_becomes_a_collection(world):
    names = {f"{v}/{n}" for v, n in world.collections}
    assert {"zendesk/tickets", "zendesk/ticket_comments", "stripe/customers",
            "linear/issues", "github/commits"} <= names
    assert len(world.collection("zendesk", "tickets")) == 4
    assert world.collection("zendesk", "tickets").n_versions() == 8


def test_state_is_the_latest_version_at_or_before_t(world):
    tickets = world.collection("zendesk", "tickets")
    assert tickets.get(1, parse_time("2026-06-01T10:04:59Z")) is None  # not created yet
    assert tickets.get(1, parse_time("2026-06-01T10:05:00Z"))["status"] == "new"  # at == T
    assert tickets.get(1, parse_time("2026-06-01T12:00:00Z"))["status"] == "open"
    assert tickets.get(1, parse_time("2026-06-01T15:00:00Z"))["status"] == "solved"


def test_a_deleted_version_removes_the_object_from_then(world):
    tickets = world.collection("zendesk", "tickets")
    assert tickets.get(4, parse_time("2026-06-02T16:10:00Z"))["subject"] == "Spam"
    assert tickets.get(4, parse_time("2026-06-02T16:30:00Z")) is None
    assert tickets.last_live(4, parse_time("2026-06-02T16:30:00Z"))["subject"] == "Spam"
    live = {oid for oid, _ in tickets.visible(world.end)}
    assert live == {1, 2, 3}
    assert {oid for oid, _ in tickets.visible(world.end, include_deleted=True)} == {1, 2, 3, 4}


def test_commits_are_keyed_by_sha(world):
    commits = world.collection("github", "commits")
    assert set(commits.ids()) == {"a" * 40, "b" * 40}


def test_added_version_is_seen_from_its_time(world):
    stripe = world.collection("stripe", "customers")
    t = parse_time("2026-06-02T00:00:00Z")
    before = stripe.generation
    stripe.add_version("cus_9", t, {"id": "cus_9", "object": "customer"}, world.new_vid())
    assert stripe.generation == before + 1
    assert stripe.get("cus_9", t - 1) is None and stripe.get("cus_9", t)["id"] == "cus_9"


def test_unsorted_files_are_sorted_by_time(tmp_path):
    root = build_tiny_world(tmp_path / "w")
    path = root / "zendesk" / "tickets.jsonl"
    lines = path.read_text().splitlines()
    path.write_text("\n".join(reversed(lines)) + "\n")
    tickets = World.load(root).collection("zendesk", "tickets")
    assert [v.obj["status"] for v in tickets.versions(1)] == ["new", "open", "solved"]


def test_times_parse_and_print_in_the_vendors_forms():
    t = parse_time("2026-06-01T10:40:00.123Z")
    assert iso(t) == "2026-06-01T10:40:00Z"
    assert iso(t, millis=True) == "2026-06-01T10:40:00.123Z"
    assert parse_time("2026-06-01T10:40:00+00:00") == parse_time("2026-06-01T10:40:00")
    assert parse_time(1780310400) == 1780310400.0


def test_bad_world_is_named_with_path_line_and_field(tmp_path):
    root = build_tiny_world(tmp_path / "w")
    with (root / "stripe" / "charges.jsonl").open("a") as f:
        f.write(json.dumps({"object": {"id": "ch_x"}}) + "\n")
    with pytest.raises(WorldFormatError, match=r"charges.jsonl:2 field=at"):
        World.load(root)
    (root / "world.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(WorldFormatError, match="format"):
        World.load(root)
