"""The `altor eval` figures on hand-computed examples."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
import pytest

from altor_pipelines.ml.evaluate import (
    confusion,
    expected_calibration_error,
    score_diagnoses,
)
from altor_sim.evaluation.truth import evaluate_world

KEYS = {"n_tickets", "macro_f1", "per_cause", "delivered_share", "delivered_precision",
        "system_access_diagnosed", "novel_escalated_recall", "ece"}


def test_ece_by_hand():
    conf = np.array([0.95, 0.95, 0.65, 0.62, 0.05])
    ok = np.array([1, 1, 1, 0, 0])
    # bin 9: acc 1.0, conf .95 -> .05 * 2/5; bin 6: acc .5, conf .635 -> .135 * 2/5;
    # bin 0: acc 0, conf .05 -> .05 * 1/5
    assert expected_calibration_error(conf, ok) == pytest.approx(0.02 + 0.054 + 0.01)
    assert expected_calibration_error(np.array([1.0]), np.array([1])) == 0.0


def test_scores_by_hand():
    truth = ["known_bug", "known_bug", "novel", "how_to", "plan_limit", "novel"]
    cause = ["known_bug", None, None, "how_to", "known_bug", "deploy_regression"]
    top = ["known_bug", "known_bug", "misrouted", "how_to", "known_bug", "deploy_regression"]
    prob = [0.95, 0.6, 0.4, 0.9, 0.92, 0.97]
    escalate = [False, True, True, False, False, True]
    r = score_diagnoses(truth, cause, top, prob, escalate)
    assert set(r) == KEYS
    assert r["n_tickets"] == 6
    assert r["delivered_share"] == pytest.approx(4 / 6, abs=1e-4)
    assert r["delivered_precision"] == pytest.approx(2 / 4)
    # system access: known_bug x2, plan_limit: only the first known_bug delivered right
    assert r["system_access_diagnosed"] == pytest.approx(1 / 3, abs=1e-4)
    # both true novels flagged: one abstained, one escalated as deploy_regression
    assert r["novel_escalated_recall"] == 1.0
    # abstention counts as novel: novel predicted for tickets 2 and 3 -> novel P=1/2, R=1/2
    assert r["per_cause"]["novel"] == {"precision": 0.5, "recall": 0.5, "f1": 0.5, "support": 2}
    kb = r["per_cause"]["known_bug"]  # predicted twice (1 right), support 2 -> P .5 R .5
    assert (kb["precision"], kb["recall"]) == (0.5, 0.5)
    # causes seen: known_bug .5, novel .5, how_to 1, plan_limit 0, deploy_regression 0
    assert r["macro_f1"] == pytest.approx((0.5 + 0.5 + 1 + 0 + 0) / 5)
    assert set(r["per_cause"]) == {"known_bug", "deploy_regression", "platform_incident",
                                   "plan_limit", "billing_issue", "customer_integration",
                                   "how_to", "misrouted", "novel"}


def test_confusion_puts_abstentions_in_their_own_column():
    c = confusion(["known_bug", "novel"], ["known_bug", None])
    assert c["columns"][-1] == "(abstained)"
    assert c["matrix"][0][0] == 1 and c["matrix"][-1][-1] == 1


def test_evaluate_world_scores_only_tickets_after_go_live(tmp_path):
    (tmp_path / "truth").mkdir()
    (tmp_path / "world.json").write_text(json.dumps(
        {"format": "altor-world/1", "name": "w", "go_live": "2026-08-01T00:00:00Z"}))
    (tmp_path / "truth" / "tickets.csv").write_text(
        "ticket_id,root_cause,should_escalate,evidence,created_at\n"
        "1,known_bug,0,,2026-07-30T00:00:00Z\n"
        "2,plan_limit,0,,2026-08-02T00:00:00Z\n"
        "3,novel,1,,2026-08-03T00:00:00Z\n")
    diagnoses = pl.DataFrame({"ticket_id": [1, 2], "cause": ["known_bug", "plan_limit"],
                              "top_cause": ["known_bug", "plan_limit"],
                              "top_probability": [0.99, 0.97], "escalate": [False, False]})
    r = evaluate_world(tmp_path, diagnoses, seconds=1.234)
    assert set(KEYS | {"world", "seconds"}) <= set(r)
    assert r["world"] == "w" and r["n_tickets"] == 2 and r["seconds"] == 1.23
    assert r["missing_diagnoses"] == 1  # ticket 3: counted as abstained, hence flagged
    assert r["delivered_precision"] == 1.0 and r["novel_escalated_recall"] == 1.0
