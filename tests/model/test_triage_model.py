"""Model tests: the classifier against its baselines, its noise handling and calibration
against the synthetic world's truth, serving, refusal and promotion."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from altor_pipelines.errors import ModelRegistryError
from altor_pipelines.ml import registry
from altor_pipelines.ml.promote import promote_if_not_worse
from altor_pipelines.ml.serve import (
    SCHEMA,
    build_diagnoses,
    diagnose,
    read_diagnoses,
    tickets_to_diagnose,
)
from altor_pipelines.taxonomy import CAUSES
from altor_sim.evaluation.truth import evaluate_world
from tests.fixtures.ml_fixtures import GO_LIVE, abstaining_everywhere

ARTIFACTS = Path(__file__).resolve().parents[1] / ".artifacts"


def _truth(tw) -> dict[int, str]:
    return dict(tw.warehouse.truth.select("ticket_id", "root_cause").iter_rows())


def test_full_model_beats_every_baseline_on_the_held_out_tickets(trained_world):
    b = trained_world.result.baselines
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ml_baselines.json").write_text(json.dumps(b, indent=2))
    assert set(b) == {"full_model", "majority", "heuristics_only", "text_only",
                      "features_only"}
    for labels in ("recorded", "cleaned"):
        full = b["full_model"][labels]["macro_f1"]
        for name in ("majority", "heuristics_only", "text_only", "features_only"):
            assert full > b[name][labels]["macro_f1"], (labels, name, b)


def test_noise_handling_finds_most_wrong_recorded_causes(trained_world):
    r = trained_world.result
    noise = r.noise
    history = pl.concat([r.split.train, r.split.valid])
    truth = _truth(trained_world)
    wrong = np.array([truth[t] != lab for t, lab in
                      zip(history["ticket_id"], history["label"], strict=True)])
    flagged = noise.issues
    precision = (wrong & flagged).sum() / flagged.sum()
    recall = (wrong & flagged).sum() / wrong.sum()
    assert precision >= 0.6 and recall >= 0.5, (precision, recall)
    assert abs(noise.estimated_noise_rate - wrong.mean()) < 0.05
    # the recording-error rate (what calibration and the threshold use) is close too
    assert abs(noise.recording_error_rate - wrong.mean()) < 0.04, noise.recording_error_rate
    # relabelled tickets now mostly carry their true cause
    relabelled = noise.issues & noise.keep
    right = np.array([truth[t] == lab for t, lab in
                      zip(history["ticket_id"], noise.labels, strict=True)])
    assert right[relabelled].mean() >= 0.7


def test_decisions_ask_of_the_recorded_causes_what_noise_allows(trained_world):
    r = trained_world.result
    policy = r.policy
    assert policy.target_precision == 0.95
    assert policy.error_rate == r.noise.recording_error_rate
    assert r.calibration["recording_error_rate"] == r.noise.recording_error_rate
    # on this world every cause can be told apart: each is delivered, by the model or its rule
    assert policy.by("abstain") == [], policy.to_dict()
    for cause, d in policy.causes.items():
        chosen = d.model if d.decided_by == "model" else d.rule
        assert chosen.feasible and d.estimated_precision >= 0.95, (cause, d)
        assert chosen.delivered >= policy.config.min_delivered
    # out of fold over the whole history, not one slice
    assert policy.validation["tickets"] == r.split.train.height + r.split.valid.height
    assert policy.validation["delivered_share"] >= 0.8
    assert r.metrics["valid_cleaned"]["delivered_precision"] >= 0.95
    assert r.warnings == []


def test_after_go_live_against_truth_precision_and_calibration_hold(trained_world):
    tw = trained_world
    import duckdb

    con = duckdb.connect(str(tw.warehouse.path), read_only=True)
    try:
        ids = [r[0] for r in con.execute(
            "SELECT ticket_id FROM staging.stg_zendesk__tickets WHERE created_at >= ?",
            [GO_LIVE]).fetchall()]
        started = time.perf_counter()
        diagnoses = diagnose(con, tw.models_root, tw.sql_dir, ids)
        per_1000 = 1000 * (time.perf_counter() - started) / len(ids)
    finally:
        con.close()
    r = evaluate_world(tw.world_dir, diagnoses, seconds=0.0)
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "ml_synthetic_eval.json").write_text(json.dumps(
        r | {"serve_seconds_per_1000": per_1000, "train_seconds": tw.result.seconds}, indent=2))
    assert r["n_tickets"] == len(ids) and r["missing_diagnoses"] == 0
    assert r["delivered_precision"] >= 0.93, r
    assert r["ece"] <= 0.06, r
    assert r["novel_escalated_recall"] >= 0.85, r


def test_metadata_records_what_the_issue_asks(trained_world):
    meta = registry.read_metadata(trained_world.models_root, trained_world.version)
    for key in ("training_window", "rows_per_class", "per_class_metrics", "confusion_matrix",
                "calibration", "calibration_error", "decision", "features", "feature_sql_hash",
                "library_versions", "noise", "baselines", "promotion", "held_out"):
        assert key in meta, key
    assert meta["feature_sql_hash"] == registry.feature_sql_hash(trained_world.sql_dir)
    assert meta["training_window"]["train"]["to"] <= meta["training_window"]["test"]["from"]
    assert meta["decision"]["policy"] == "per_cause"
    assert meta["decision"]["causes"]["known_bug"]["decided_by"] == \
        trained_world.result.policy.causes["known_bug"].decided_by
    assert set(meta["rows_per_class"]["train_recorded"]) == set(CAUSES)
    assert meta["promotion"]["promoted"]
    assert meta["promotion"]["reason"].startswith("no current model; against the rules alone")
    assert "truth" not in " ".join(meta["features"]).lower()


def test_the_scheduled_diagnosis_scores_only_rebuilt_and_unscored_tickets(
        trained_world, warehouse_copy):
    tw, con = trained_world, warehouse_copy
    assert registry.current_version(tw.models_root) == tw.version
    assert tickets_to_diagnose(con, tw.models_root) is None  # nothing diagnosed yet: all
    build_diagnoses(con, tw.models_root, tw.sql_dir)
    con.execute("CREATE SCHEMA IF NOT EXISTS intermediate")
    # the last investigation rebuilt 10002; 10005 has no diagnosis by the serving model
    con.execute("CREATE OR REPLACE TABLE intermediate.int_ticket_investigations AS "
                "SELECT 10002::BIGINT AS ticket_id")
    con.execute("DELETE FROM diagnosis.diagnoses WHERE ticket_id = 10005")
    assert tickets_to_diagnose(con, tw.models_root) == [10002, 10005]
    con.execute("DELETE FROM intermediate.int_ticket_investigations")
    build_diagnoses(con, tw.models_root, tw.sql_dir, ticket_ids=[10005])
    assert tickets_to_diagnose(con, tw.models_root) == []


def test_diagnoses_table_one_row_per_ticket_and_version_and_reruns_replace(
        trained_world, warehouse_copy):
    tw = trained_world
    summary = build_diagnoses(warehouse_copy, tw.models_root, tw.sql_dir)
    n_tickets = warehouse_copy.execute(
        "SELECT count(*) FROM features.fct_ticket_features").fetchall()[0][0]
    assert summary["rows"] == n_tickets
    assert summary["delivered"] + summary["abstained"] == n_tickets
    again = build_diagnoses(warehouse_copy, tw.models_root, tw.sql_dir, ticket_ids=[10000, 10001])
    assert again["rows"] == 2
    rows = read_diagnoses(warehouse_copy, tw.version)
    assert rows.height == n_tickets and rows["ticket_id"].n_unique() == n_tickets
    cols = [r[0] for r in warehouse_copy.execute("DESCRIBE diagnosis.diagnoses").fetchall()]
    assert cols == list(SCHEMA)
    abstained = rows.filter(pl.col("abstained"))
    assert abstained["cause"].null_count() == abstained.height
    assert abstained["escalate"].all()
    delivered = rows.filter(~pl.col("abstained"))
    assert (delivered["confidence_band"] == "high").all()
    esc = delivered.filter(pl.col("cause").is_in(["deploy_regression", "novel"]))
    assert esc["escalate"].all()
    assert delivered.filter(pl.col("cause") == "misrouted")["action"].eq("reroute").all()
    probs = json.loads(rows["probabilities"][0])
    assert set(probs) == set(CAUSES) and abs(sum(probs.values()) - 1) < 1e-4
    assert rows.filter(pl.col("rules_fired").list.len() > 0).height > 0


def test_serving_refuses_a_model_built_for_other_feature_sql(trained_world, warehouse_copy,
                                                            tmp_path):
    other_sql = tmp_path / "sql"
    (other_sql / "features").mkdir(parents=True)
    (other_sql / "features" / "fct_ticket_features.sql").write_text("SELECT 42 AS ticket_id\n")
    with pytest.raises(ModelRegistryError, match="feature SQL hash"):
        build_diagnoses(warehouse_copy, trained_world.models_root, other_sql)


def test_a_worse_candidate_is_not_promoted_and_an_equal_one_is(trained_world, warehouse_copy,
                                                              tmp_path):
    tw = trained_world
    root = tmp_path / "triage"
    model = registry.load_model(tw.models_root, tw.version, tw.sql_dir)
    meta = {k: v for k, v in model.metadata.items() if k not in ("version", "promotion")}
    first = registry.save_model(root, model.model, meta)
    assert promote_if_not_worse(warehouse_copy, root, first, tw.sql_dir)["promoted"]
    # the same model, but never delivering: worse macro-F1 on the same held-out tickets
    worse_meta = meta | {"decision": abstaining_everywhere(meta["decision"])}
    worse = registry.save_model(root, model.model, worse_meta)
    cmp = promote_if_not_worse(warehouse_copy, root, worse, tw.sql_dir)
    assert not cmp["promoted"] and "macro_f1" in cmp["reason"]
    assert "delivered_share" in cmp["reason"]
    assert cmp["current_version"] == first
    assert cmp["candidate"]["n_tickets"] == cmp["current"]["n_tickets"]
    assert registry.current_version(root) == first
    assert registry.read_metadata(root, worse)["promotion"]["promoted"] is False
    equal = registry.save_model(root, model.model, meta)
    assert promote_if_not_worse(warehouse_copy, root, equal, tw.sql_dir)["promoted"]
    assert registry.current_version(root) == equal
