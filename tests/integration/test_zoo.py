"""`altor eval --zoo`: worlds generated with different knobs, each validated and evaluated in a
process of its own, one row per world plus the worst and the median, written as JSON."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from altor_sim.evaluation.decision_frontier import run_decision_frontier
from altor_sim.evaluation.model_ceiling import run_model_ceiling
from altor_sim.evaluation.zoo import (
    ZOO,
    default_extra_worlds,
    format_table,
    run_zoo,
    worst_and_median,
    zoo_params,
)
from altor_sim.evaluation.zoo_seeds import run_zoo_seeds
from altor_sim.world.generator import WorldParams, generate_world


def test_the_zoo_differs_along_every_knob():
    assert len(ZOO) >= 6 and len({p.name for p in ZOO}) == len(ZOO)
    for knob in ("vocabulary", "services", "plan_limits_in", "vague_share", "history_weeks",
                 "silent_customers", "label_noise", "tickets_per_week", "cause_mix", "days"):
        assert len({json.dumps(getattr(p, knob), sort_keys=True) for p in ZOO}) >= 2, knob
    for p in ZOO:
        p.check()
        assert 0.05 <= p.label_noise <= 0.2 and 100 <= p.tickets_per_week <= 1000
        weeks = (p.history_weeks * 7 if p.history_weeks else round(p.days * 2 / 3)) / 7
        assert 4 <= weeks <= 12
    assert [p.customers for p in zoo_params(tiny=True)] == [10] * len(ZOO)
    with pytest.raises(ValueError, match="no zoo world named"):
        zoo_params(names=["zoo-nope"])


def test_worst_is_the_lowest_score_and_the_highest_cost():
    rows = [
        {"world": "a", "macro_f1": 0.9, "ece": 0.05, "seconds": 100.0, "peak_mb": 900.0,
         "rules_f1": {"novel": 0.5}},
        {"world": "b", "macro_f1": 0.6, "ece": 0.02, "seconds": 300.0, "peak_mb": 700.0,
         "rules_f1": {"novel": 0.3}},
        {"world": "c", "macro_f1": 0.7, "ece": 0.10, "seconds": 200.0, "peak_mb": 800.0,
         "rules_f1": {"novel": 0.4}},
    ]
    worst, median = worst_and_median(rows)
    assert (worst["macro_f1"], worst["ece"], worst["seconds"], worst["peak_mb"]) == (
        0.6, 0.10, 300.0, 900.0)
    assert (median["macro_f1"], median["ece"], median["seconds"]) == (0.7, 0.05, 200.0)
    assert worst["rules_f1"] == {"novel": 0.3}
    table = format_table(rows + [worst, median])
    assert table.splitlines()[0].split()[:3] == ["world", "macro-F1", "delivered"]
    assert "worst" in table and "median" in table


def test_shared_worlds_beside_the_project_join_the_zoo(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    assert default_extra_worlds(project) == []
    world = tmp_path / "shared" / "worlds" / "made-elsewhere"
    world.mkdir(parents=True)
    (world / "world.json").write_text("{}")
    (tmp_path / "shared" / "worlds" / "not-a-world").mkdir()
    assert default_extra_worlds(project) == [world]


@pytest.mark.slow
def test_zoo_on_tiny_worlds_prints_and_writes_a_row_per_world(tmp_path):
    extra = tmp_path / "elsewhere"
    generate_world(extra, WorldParams(name="elsewhere", seed=77, customers=10, days=14,
                                      tickets_per_week=120, requests_per_minute=8.0))
    lines: list[str] = []
    table = run_zoo(tmp_path / "zoo", [extra], tiny=True, echo=lines.append,
                    names=["zoo-rpc"])
    assert table["failed"] == []
    assert [r["world"] for r in table["worlds"]] == ["zoo-rpc", "elsewhere"]
    for row in table["worlds"]:
        assert row["n_tickets"] > 20
        assert 0.0 <= row["macro_f1"] <= 1.0 and 0.0 <= row["rules_macro_f1"] <= 1.0
        assert row["seconds"] > 0 and row["peak_mb"] > 100
        assert set(row["rules_f1"]) >= {"misrouted", "novel", "macro"}
    assert table["worlds"][0]["knobs"]["vocabulary"] == "rpc"
    written = json.loads((tmp_path / "zoo" / "zoo.json").read_text())
    assert written["worst"]["macro_f1"] == min(r["macro_f1"] for r in table["worlds"])
    text = "\n".join(lines)
    assert "valid altor-world/1" in text and "zoo-rpc" in text and "elsewhere" in text
    assert any(line.startswith("worst") for line in text.splitlines())
    assert Path(table["worlds"][0]["world_dir"]).is_dir()

    # --seeds: the same worlds retrained on their kept stores; seed 0 is the run above
    lines.clear()
    seeded = run_zoo_seeds(tmp_path / "zoo", 2, echo=lines.append)
    assert [r["world"] for r in seeded["worlds"]] == ["zoo-rpc", "elsewhere"]
    for row, first in zip(seeded["worlds"], table["worlds"], strict=True):
        assert row["seeds"] == [0, 1]
        assert row["macro_f1_by_seed"][0] == first["macro_f1"]
        assert row["macro_f1"] == round(sum(row["macro_f1_by_seed"]) / 2, 4)
        assert row["macro_f1_spread"] == round(abs(row["macro_f1_by_seed"][0]
                                                   - row["macro_f1_by_seed"][1]), 4)
    assert seeded["worst"]["macro_f1"] == min(r["macro_f1"] for r in seeded["worlds"])
    assert "worst world by mean macro-F1" in "\n".join(lines)
    assert json.loads((tmp_path / "zoo" / "zoo_seeds.json").read_text())["seeds"] == 2

    # the model's top cause alone on the same kept stores: every ticket after go-live scored
    ceiling = run_model_ceiling(tmp_path / "zoo", ["base", "linear"], seeds=1, echo=lines.append)
    assert [(r["world"], r["variant"]) for r in ceiling["rows"]] == [
        ("zoo-rpc", "base"), ("zoo-rpc", "linear"), ("elsewhere", "base"),
        ("elsewhere", "linear")]
    for row, world in zip(ceiling["rows"], [w for w in table["worlds"] for _ in (0, 1)],
                          strict=True):
        matrix = np.array(row["confusion"]["matrix"])
        assert row["tickets"] == world["n_tickets"] == matrix.sum()
        assert matrix[:, -1].sum() == 0  # a top cause for every ticket: nothing abstains
        assert row["accuracy"] == round(np.trace(matrix) / matrix.sum(), 4)
    with pytest.raises(ValueError, match="unknown model variants"):
        run_model_ceiling(tmp_path / "zoo", ["deep_net"])
    # what the model is fitted on: the records, the records without their label issues, truth
    by_labels = run_model_ceiling(tmp_path / "zoo", ["base"], labels=["recorded", "dropped",
                                                                      "true"], echo=lines.append)
    for world in ("zoo-rpc", "elsewhere"):
        got = {r["labels"]: r for r in by_labels["rows"] if r["world"] == world}
        assert got["true"]["wrong_label_share"] == 0.0 and got["true"]["kept_share"] == 1.0
        assert got["recorded"]["kept_share"] == 1.0
        assert got["recorded"]["macro_f1"] == next(
            r["macro_f1"] for r in ceiling["rows"] if r["world"] == world
            and r["variant"] == "base")
        # dropping the label issues leaves fewer tickets and fewer wrong labels among them
        assert got["dropped"]["kept_share"] < 1.0
        assert got["dropped"]["wrong_label_share"] < got["recorded"]["wrong_label_share"]
    with pytest.raises(ValueError, match="unknown training labels"):
        run_model_ceiling(tmp_path / "zoo", ["base"], labels=["gold"])

    # the decision's variants with the same model: "pipeline" is what `altor eval` scored
    frontier = run_decision_frontier(tmp_path / "zoo", echo=lines.append)
    assert list(frontier["worlds"]) == ["zoo-rpc", "elsewhere"]
    for world in table["worlds"]:
        row = frontier["worlds"][world["world"]]
        got = row["variants"]
        assert got["pipeline"]["macro_f1"] == pytest.approx(world["macro_f1"], abs=1e-4)
        assert got["pipeline"]["delivered_share"] == pytest.approx(world["delivered_share"],
                                                                   abs=1e-4)
        # no target: every cause the model ever ranked first is delivered
        assert got["top_cause"]["delivered_share"] >= got["pipeline"]["delivered_share"]
        assert got["top_cause"]["abstained_causes"] == []
        assert 0.0 < row["recording_error_rate"]["true"] < 0.5
    assert set(frontier["summary"]) == {"pipeline", "pooled_rate", "true_rates",
                                        "true_pooled_rate", "target_0.90", "target_0.97",
                                        "prior_20", "top_cause"}
    for row in frontier["worlds"].values():  # one seed: its figures are the means
        only = row["by_seed"][0]["variants"]["pipeline"]
        assert row["variants"]["pipeline"]["macro_f1_by_seed"] == [only["macro_f1"]]
        assert row["variants"]["pipeline"]["macro_f1"] == only["macro_f1"]
    written = json.loads((tmp_path / "zoo" / "decision_frontier.json").read_text())
    assert written["summary"]["pipeline"]["worst_macro_f1"] == pytest.approx(
        min(w["macro_f1"] for w in table["worlds"]), abs=1e-4)


def test_seeds_without_an_earlier_zoo_run_say_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="run `altor eval --zoo"):
        run_zoo_seeds(tmp_path / "nothing-here", 2)
