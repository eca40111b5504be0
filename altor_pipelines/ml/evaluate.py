"""Scores of diagnoses against true causes: the figures `altor eval` reports.

`score_diagnoses` is the one definition of every figure; the same function scores the model on
held-out history (recorded causes) here and, in the simulation (altor_sim/evaluation/truth.py),
a world's evaluation period against its truth.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from altor_pipelines.metrics import label_scores, seen_labels
from altor_pipelines.taxonomy import CAUSES, NOVEL, SYSTEM_ACCESS_CAUSES

ABSTAINED = "(abstained)"


def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10
                               ) -> float:
    """Σ_bins (n_bin / n) · |accuracy_bin − mean confidence_bin|, bins of equal width on [0, 1]
    (the last bin closed: a confidence of 1.0 falls in it)."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=float)
    if len(conf) == 0:
        return 0.0
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    ece = 0.0
    for b in range(n_bins):
        m = bins == b
        if m.any():
            ece += m.mean() * abs(ok[m].mean() - conf[m].mean())
    return float(ece)


def reliability_table(confidence: np.ndarray, correct: np.ndarray, n_bins: int = 10
                      ) -> list[dict[str, float]]:
    """Per bin: its range, count, mean confidence and accuracy (the reliability diagram)."""
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=float)
    bins = np.minimum((conf * n_bins).astype(int), n_bins - 1)
    out = []
    for b in range(n_bins):
        m = bins == b
        out.append({"low": b / n_bins, "high": (b + 1) / n_bins, "count": int(m.sum()),
                    "confidence": float(conf[m].mean()) if m.any() else float("nan"),
                    "accuracy": float(ok[m].mean()) if m.any() else float("nan")})
    return out


def confusion(truth: Sequence[str], cause: Sequence[str | None],
              classes: Sequence[str] = CAUSES) -> dict[str, Any]:
    """Rows: true (or recorded) cause; columns: delivered cause, plus one for abstentions."""
    cols = list(classes) + [ABSTAINED]
    m = np.zeros((len(classes), len(cols)), dtype=int)
    for t, c in zip(truth, cause, strict=True):
        if t in classes:
            m[list(classes).index(t), cols.index(c if c is not None else ABSTAINED)] += 1
    return {"rows": list(classes), "columns": cols, "matrix": m.tolist()}


def _prf(truth: np.ndarray, pred: np.ndarray, cls: str) -> dict[str, float | int]:
    s = label_scores(truth, pred, cls)
    return {"precision": round(s["precision"], 4), "recall": round(s["recall"], 4),
            "f1": round(s["f1"], 4), "support": s["support"]}


def score_diagnoses(
    truth: Sequence[str],
    cause: Sequence[str | None],
    top_cause: Sequence[str | None],
    top_probability: Sequence[float],
    escalate: Sequence[bool],
) -> dict[str, Any]:
    """The `altor eval` figures for aligned sequences (one entry per ticket):

    - `cause` is the delivered cause, None when the pipeline abstained;
    - macro-F1 counts an abstention as `novel` and averages over the causes that occur in the
      truth or the predictions; `per_cause` lists all nine causes;
    - delivered share/precision: share of tickets with a cause, share of those that are right;
    - system_access_diagnosed: of the tickets whose true cause needs production data, the share
      delivered with the right cause; novel_escalated_recall: of the true `novel` tickets, the
      share abstained or escalated;
    - ece: of the top-cause probability (10 equal-width bins), correct when the top cause
      equals the truth (whether or not it was delivered).
    """
    t = np.asarray(list(truth), dtype=object)
    delivered = np.array([c is not None for c in cause], dtype=bool)
    pred = np.array([c if c is not None else NOVEL for c in cause], dtype=object)
    n = len(t)
    per_cause = {c: _prf(t, pred, c) for c in CAUSES}
    seen = seen_labels(t, pred, CAUSES)
    macro = float(np.mean([per_cause[c]["f1"] for c in seen])) if seen else 0.0
    right = delivered & (pred == t)
    system = np.isin(t, list(SYSTEM_ACCESS_CAUSES))
    novel = t == NOVEL
    flagged = ~delivered | np.asarray(list(escalate), dtype=bool)
    top_ok = np.array([a == b for a, b in zip(top_cause, t, strict=True)], dtype=bool)
    return {
        "n_tickets": int(n),
        "macro_f1": round(macro, 4),
        "per_cause": per_cause,
        "delivered_share": round(float(delivered.mean()) if n else 0.0, 4),
        "delivered_precision": round(float(right.sum() / delivered.sum()) if delivered.any()
                                     else 0.0, 4),
        "system_access_diagnosed": round(float(right[system].mean()) if system.any() else 0.0,
                                         4),
        "novel_escalated_recall": round(float(flagged[novel].mean()) if novel.any() else 0.0, 4),
        "ece": round(expected_calibration_error(np.asarray(top_probability, float), top_ok), 4),
    }
