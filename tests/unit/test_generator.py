"""The world generator: determinism; the altor-world/1 validator on generated and hand-written
worlds."""

from __future__ import annotations

import csv
import hashlib
import json
from pathlib import Path

import pytest

from altor_pipelines.errors import WorldFormatError
from altor_sim.world.generator import WorldParams, generate_world, validate_world
from tests.fixtures.tiny_world import build_tiny_world

SMALL = dict(days=10, customers=10, tickets_per_week=150, requests_per_minute=10)


def _digest(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="module")
def small_world(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gen") / "a"
    generate_world(out, WorldParams(seed=7, **SMALL))
    return out


def test_same_seed_and_params_give_identical_files(small_world, tmp_path):
    again = tmp_path / "b"
    generate_world(again, WorldParams(seed=7, **SMALL))
    a, b = _digest(small_world), _digest(again)
    assert len(a) > 25 and a == b


def test_different_seed_gives_a_different_world(small_world, tmp_path):
    other = tmp_path / "c"
    generate_world(other, WorldParams(seed=8, **SMALL))
    a, b = _digest(small_world), _digest(other)
    assert a["zendesk/tickets.jsonl"] != b["zendesk/tickets.jsonl"]
    assert a["truth/tickets.csv"] != b["truth/tickets.csv"]


def test_generated_world_follows_the_format(small_world):
    counts = validate_world(small_world)
    assert counts["zendesk/tickets"] > counts["truth/tickets"] > 100
    assert counts["clickhouse/requests"] > 100_000
    world = json.loads((small_world / "world.json").read_text())
    assert world["format"] == "altor-world/1" and world["start"] == "2026-06-01T00:00:00Z"
    assert world["end"] == "2026-06-11T00:00:00Z"


def test_hand_written_tiny_world_follows_the_format(tmp_path):
    counts = validate_world(build_tiny_world(tmp_path / "tiny"))
    assert counts["truth/tickets"] == 3 and counts["clickhouse/requests"] == 720


def test_validator_names_file_line_and_field(tmp_path):
    root = build_tiny_world(tmp_path / "tiny")
    path = root / "zendesk" / "tickets.jsonl"
    lines = path.read_text().splitlines()
    row = json.loads(lines[1])
    row["object"]["updated_at"] = "2026-06-01T11:00:01Z"  # disagrees with `at`
    lines[1] = json.dumps(row)
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(WorldFormatError, match=r"tickets\.jsonl:2 field=updated_at"):
        validate_world(root)


def test_validator_rejects_stripe_created_that_disagrees_with_first_version(tmp_path):
    root = build_tiny_world(tmp_path / "tiny")
    path = root / "stripe" / "charges.jsonl"
    row = json.loads(path.read_text())
    row["object"]["created"] += 60
    path.write_text(json.dumps(row) + "\n")
    with pytest.raises(WorldFormatError, match="field=created"):
        validate_world(root)


def test_validator_accepts_extra_truth_columns_in_any_order_and_names_a_missing_one(tmp_path):
    root = build_tiny_world(tmp_path / "tiny")
    path = root / "truth" / "tickets.csv"
    with path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 3
    # WORLD-FORMAT allows extra fields: another generator adds columns and reorders them
    order = ["created_at", "ticket_id", "episode_id", "root_cause", "evidence",
             "should_escalate", "detail"]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=order)
        w.writeheader()
        for i, r in enumerate(rows):
            w.writerow({**r, "episode_id": f"ep{i}", "detail": "x, with a comma"})
    assert validate_world(root)["truth/tickets"] == 3
    # the values are still checked, through their names
    bad = [{**rows[0], "episode_id": "", "detail": "", "root_cause": "gremlins"}, *rows[1:]]
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=order, extrasaction="ignore")
        w.writeheader()
        w.writerows({**r, "episode_id": "", "detail": ""} for r in bad)
    with pytest.raises(WorldFormatError, match=r"tickets\.csv:2 field=root_cause"):
        validate_world(root)
    # a required column missing is named
    with path.open("w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=[c for c in order if c != "evidence"],
                           extrasaction="ignore")
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(WorldFormatError, match="missing evidence"):
        validate_world(root)
