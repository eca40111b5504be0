"""Pipeline construction: the columns each part reads, calibrated probabilities per cause."""

from __future__ import annotations

import numpy as np
import polars as pl

from altor_pipelines.ml.dataset import feature_matrix
from altor_pipelines.ml.feature_spec import FeatureColumn, FeatureSpec
from altor_pipelines.ml.model import ModelConfig, build_classifier

SPEC = FeatureSpec(
    columns=[FeatureColumn("features.t", "x", "x", "numeric"),
             FeatureColumn("features.t", "flag", "flag", "numeric"),
             FeatureColumn("features.t", "plan", "plan", "categorical"),
             FeatureColumn("heuristics.rule_scores", "score_a", "score_a", "numeric")],
    rule_score_columns={}, rules_fired_column=None,
    tables=["features.t", "heuristics.rule_scores"],
)


def _frame(n: int = 90, seed: int = 0) -> tuple[pl.DataFrame, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = np.array(["known_bug", "plan_limit", "how_to"] * (n // 3), dtype=object)
    x = np.where(y == "known_bug", 2.0, 0.0) + rng.normal(0, 0.3, n)
    x[::7] = np.nan
    return pl.DataFrame({
        "ticket_id": range(n), "x": x, "flag": (y == "plan_limit"),
        "plan": [["a", "b", None][i % 3] for i in range(n)], "score_a": rng.random(n),
        "text": [f"{c} words here" for c in y], "extra": rng.random(n),
    }), y


def test_linear_pipeline_reads_registered_columns_through_three_branches():
    clf = build_classifier(SPEC, ModelConfig(kind="linear"))
    names = [name for name, _, _ in clf.named_steps["features"].transformers]
    assert names == ["num", "cat", "text"]
    cols = {name: c for name, _, c in clf.named_steps["features"].transformers}
    assert cols["num"] == ["x", "flag", "score_a"] and cols["cat"] == ["plan"]
    assert cols["text"] == "text"
    assert clf.named_steps["features"].remainder == "drop"


def test_boosted_stack_reads_text_then_registered_columns_by_position():
    clf = build_classifier(SPEC, ModelConfig(kind="boosted"))  # text stacked into trees
    (name, text_model), = clf.estimators
    assert name == "text" and clf.passthrough
    assert [c for _, _, c in text_model.named_steps["features"].transformers] == ["text"]
    cols = clf.final_estimator.named_steps["columns"]
    by_name = {n: c for n, _, c in cols.transformers}
    # meta input = [text probabilities | x, flag, score_a, plan, text]: plan is the one
    # categorical (second from the end), the raw text (last) is dropped
    assert by_name["cat"] == slice(-2, -1) and by_name["num"] == slice(0, -2)
    assert cols.remainder == "drop"
    frame, y = _frame()
    X = feature_matrix(frame, SPEC)
    clf.fit(X, y)
    assert (clf.predict(X) == y).mean() > 0.9


def test_baseline_halves_drop_a_branch():
    text_only = build_classifier(SPEC, numeric=False)
    assert [n for n, _, _ in text_only.named_steps["features"].transformers] == ["text"]
    no_text = build_classifier(SPEC, text=False)
    assert [n for n, _, _ in no_text.named_steps["features"].transformers] == ["num", "cat"]


def test_served_classifier_gives_a_probability_per_cause_summing_to_one():
    frame, y = _frame()
    model = build_classifier(SPEC)
    X = feature_matrix(frame, SPEC)
    assert X.columns == ["x", "flag", "score_a", "plan", "text"]  # "extra" never reaches it
    model.fit(X, y)
    p = model.predict_proba(X)
    assert p.shape == (len(y), 3)
    assert np.allclose(p.sum(axis=1), 1.0)
    assert (model.classes_[p.argmax(axis=1)] == y).mean() > 0.9
