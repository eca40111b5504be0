"""Baselines the classifier must beat on the held-out tickets: the majority cause, the
heuristics alone (argmax of the rule scores), the text alone (TF-IDF + logistic regression) and
the features alone (everything but the text)."""

from __future__ import annotations

import numpy as np
import polars as pl

from altor_pipelines.metrics import accuracy, macro_f1
from altor_pipelines.ml.dataset import feature_matrix
from altor_pipelines.ml.feature_spec import FeatureSpec
from altor_pipelines.ml.model import DEFAULT_MODEL, ModelConfig, build_classifier
from altor_pipelines.taxonomy import CAUSES, NOVEL


def heuristic_predictions(frame: pl.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """The cause with the highest rule score; `novel` when no rule scores above zero."""
    causes = list(spec.rule_score_columns)
    if not causes:
        return np.full(frame.height, NOVEL, dtype=object)
    scores = frame.select([pl.col(spec.rule_score_columns[c]).cast(pl.Float64).fill_null(0.0)
                           for c in causes]).to_numpy()
    best = scores.argmax(axis=1)
    out = np.array(causes, dtype=object)[best]
    out[scores.max(axis=1) <= 0] = NOVEL
    return out


def rule_causes(frame: pl.DataFrame, spec: FeatureSpec) -> np.ndarray:
    """Per ticket, the index in the taxonomy of the cause with the highest rule score (the
    earlier cause on a tie), −1 when no rule scored above zero: what the rules alone say."""
    causes = [c for c in CAUSES if c in spec.rule_score_columns]
    if not causes or frame.height == 0:
        return np.full(frame.height, -1, dtype=int)
    scores = frame.select([pl.col(spec.rule_score_columns[c]).cast(pl.Float64).fill_null(0.0)
                           for c in causes]).to_numpy()
    best = np.array([CAUSES.index(c) for c in causes])[scores.argmax(axis=1)]
    return np.where(scores.max(axis=1) > 0, best, -1)


def baseline_predictions(
    train: pl.DataFrame, y_train: np.ndarray, test: pl.DataFrame, spec: FeatureSpec,
    config: ModelConfig = DEFAULT_MODEL,
) -> dict[str, np.ndarray]:
    """Predicted causes on `test` of each baseline, fitted on (`train`, `y_train`)."""
    values, counts = np.unique(y_train, return_counts=True)
    Xtr, Xte = feature_matrix(train, spec), feature_matrix(test, spec)
    out = {
        "majority": np.full(test.height, values[counts.argmax()], dtype=object),
        "heuristics_only": heuristic_predictions(test, spec),
        "text_only": build_classifier(spec, config, numeric=False).fit(Xtr, y_train).predict(Xte),
    }
    if spec.numeric or spec.categorical:
        out["features_only"] = build_classifier(spec, config, text=False).fit(
            Xtr, y_train).predict(Xte)
    return out


def score_predictions(truth: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    """Accuracy and macro-F1 (over the causes in truth or prediction) of argmax predictions."""
    return {"accuracy": round(accuracy(truth, pred), 4),
            "macro_f1": round(macro_f1(truth, pred), 4)}
