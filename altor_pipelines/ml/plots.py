"""Figures of an evaluation (for the retraining notebook and asset metadata)."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg", force=False)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from altor_pipelines.ml.decision import precision_coverage_curve  # noqa: E402
from altor_pipelines.ml.evaluate import reliability_table  # noqa: E402


def plot_confusion(conf: dict[str, Any], title: str = "held-out tickets"):
    """`conf` from `evaluate.confusion`: rows true cause, columns delivered cause/abstained."""
    m = np.asarray(conf["matrix"])
    fig, ax = plt.subplots(figsize=(8, 6.5))
    ax.imshow(m, cmap="Blues")
    ax.set_xticks(range(len(conf["columns"])), conf["columns"], rotation=60, ha="right")
    ax.set_yticks(range(len(conf["rows"])), conf["rows"])
    for i in range(m.shape[0]):
        for j in range(m.shape[1]):
            if m[i, j]:
                ax.text(j, i, str(m[i, j]), ha="center", va="center",
                        color="white" if m[i, j] > m.max() / 2 else "black", fontsize=8)
    ax.set_xlabel("delivered cause")
    ax.set_ylabel("label")
    ax.set_title(f"Confusion matrix, {title}")
    fig.tight_layout()
    return fig


def plot_reliability(top_proba: np.ndarray, correct: np.ndarray, n_bins: int = 10):
    """Reliability diagram of the top-cause probability, with bin counts."""
    rows = [r for r in reliability_table(top_proba, correct, n_bins) if r["count"]]
    fig, ax = plt.subplots(figsize=(5.5, 5))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.plot([r["confidence"] for r in rows], [r["accuracy"] for r in rows], marker="o")
    for r in rows:
        ax.annotate(str(r["count"]), (r["confidence"], r["accuracy"]), fontsize=7,
                    xytext=(3, -10), textcoords="offset points")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_xlabel("top-cause probability")
    ax.set_ylabel("share correct")
    ax.set_title("Reliability diagram")
    fig.tight_layout()
    return fig


def plot_precision_coverage(top_proba: np.ndarray, correct: np.ndarray,
                            threshold: float | None, target: float = 0.95,
                            labels_target: float | None = None):
    """Precision of delivered diagnoses (against the labels given), the precision the
    calibrated model expects, and coverage, against the threshold."""
    c = precision_coverage_curve(top_proba, correct)
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    ax.plot(c["threshold"], c["precision"], label="precision of delivered (records)")
    ax.plot(c["threshold"], c["expected_precision"], label="expected precision (calibrated)")
    ax.plot(c["threshold"], c["coverage"], label="coverage (share delivered)")
    ax.axhline(target, color="grey", ls=":", lw=1, label=f"target {target:.2f}")
    if labels_target is not None:
        ax.axhline(labels_target, color="grey", ls="--", lw=1,
                   label=f"target on the records {labels_target:.2f}")
    if threshold is not None:
        ax.axvline(threshold, color="red", ls="--", lw=1, label=f"threshold {threshold:.3f}")
    ax.set_xlabel("threshold on the top-cause probability")
    ax.set_ylim(0, 1.02)
    ax.legend(loc="lower left")
    ax.set_title("Precision / coverage")
    fig.tight_layout()
    return fig
