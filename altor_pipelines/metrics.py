"""Precision, recall and F1: the one definition, for the classifier's scores, its baselines and
the heuristic rules alone.

A label never predicted has precision 0; a label absent from the truth has recall 0; F1 is 0
when both are. The macro average is over the labels given (by default those that occur in the
truth or the predictions).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def label_scores(truth: Sequence[Any], pred: Sequence[Any], label: Any) -> dict[str, float | int]:
    """Precision, recall, F1, support (true count) and predicted count of one label."""
    t = np.asarray(list(truth), dtype=object)
    p = np.asarray(list(pred), dtype=object)
    tp = int(((p == label) & (t == label)).sum())
    predicted = int((p == label).sum())
    support = int((t == label).sum())
    precision = tp / predicted if predicted else 0.0
    recall = tp / support if support else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": support,
            "predicted": predicted}


def seen_labels(truth: Sequence[Any], pred: Sequence[Any],
                order: Iterable[Any] | None = None) -> list[Any]:
    """The labels that occur in the truth or the predictions (in `order` when given)."""
    seen = set(truth) | set(pred)
    return [x for x in order if x in seen] if order is not None else sorted(seen)


def macro_f1(truth: Sequence[Any], pred: Sequence[Any],
             labels: Iterable[Any] | None = None) -> float:
    """The mean F1 over `labels` (default: those in the truth or the predictions)."""
    labels = list(labels) if labels is not None else seen_labels(truth, pred)
    if not labels:
        return 0.0
    return float(np.mean([label_scores(truth, pred, x)["f1"] for x in labels]))


def accuracy(truth: Sequence[Any], pred: Sequence[Any]) -> float:
    t = np.asarray(list(truth), dtype=object)
    p = np.asarray(list(pred), dtype=object)
    return float((t == p).mean()) if len(t) else 0.0
