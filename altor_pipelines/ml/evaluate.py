"""Scores of diagnoses against true causes: the `altor eval` figures of WORLD-FORMAT.md.

`score_diagnoses` is the one definition of every figure; the same function scores the model on
held-out history (recorded causes) and a world's evaluation period (`truth/tickets.csv`,
read here and only here, by `evaluate_world`).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from altor_pipelines.ml.taxonomy import CAUSES, NOVEL, SYSTEM_ACCESS_CAUSES

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
    tp = int(((pred == cls) & (truth == cls)).sum())
    n_pred = int((pred == cls).sum())
    support = int((truth == cls).sum())
    p = tp / n_pred if n_pred else 0.0
    r = tp / support if support else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4),
            "support": support}


def score_diagnoses(
    truth: Sequence[str],
    cause: Sequence[str | None],
    top_cause: Sequence[str | None],
    top_probability: Sequence[float],
    escalate: Sequence[bool],
) -> dict[str, Any]:
    """The WORLD-FORMAT figures for aligned sequences (one entry per ticket):

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
    seen = [c for c in CAUSES if (t == c).any() or (pred == c).any()]
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


def _parse_time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).replace(tzinfo=None)


def read_truth(world_dir: Path) -> tuple[dict[str, Any], pl.DataFrame]:
    """world.json and the truth of the tickets created at or after go-live."""
    world = json.loads((Path(world_dir) / "world.json").read_text())
    go_live = _parse_time(world["go_live"])
    with (Path(world_dir) / "truth" / "tickets.csv").open(newline="") as f:
        rows = [r for r in csv.DictReader(f) if _parse_time(r["created_at"]) >= go_live]
    frame = pl.DataFrame(
        {"ticket_id": [int(r["ticket_id"]) for r in rows],
         "root_cause": [r["root_cause"] for r in rows],
         "should_escalate": [r.get("should_escalate") in ("1", "true", "True") for r in rows]},
        schema={"ticket_id": pl.Int64, "root_cause": pl.String, "should_escalate": pl.Boolean},
    )
    return world, frame


def evaluate_world(world_dir: Path, diagnoses: pl.DataFrame, seconds: float) -> dict[str, Any]:
    """Score one model version's diagnoses (columns ticket_id, cause, top_cause,
    top_probability, escalate) on the world's tickets created after go-live. A ticket without
    a diagnosis counts as abstained with probability 0 and not escalated."""
    if diagnoses.height and diagnoses["ticket_id"].n_unique() != diagnoses.height:
        raise ValueError("diagnoses hold several rows per ticket: pass one model version's")
    world, truth = read_truth(world_dir)
    joined = truth.join(
        diagnoses.select("ticket_id", "cause", "top_cause", "top_probability", "escalate")
        .with_columns(pl.col("ticket_id").cast(pl.Int64)),
        on="ticket_id", how="left",
    )
    missing = int(joined["top_probability"].is_null().sum())
    result = {"world": world.get("name", Path(world_dir).name)}
    result |= score_diagnoses(
        joined["root_cause"].to_list(), joined["cause"].to_list(),
        joined["top_cause"].to_list(), joined["top_probability"].fill_null(0.0).to_list(),
        joined["escalate"].fill_null(False).to_list(),
    )
    result["seconds"] = round(float(seconds), 2)
    result["missing_diagnoses"] = missing
    return result


def format_report(result: dict[str, Any]) -> str:
    """A plain-text table of an evaluation result (what `altor eval` prints)."""
    lines = [f"{'cause':<22}{'precision':>10}{'recall':>8}{'f1':>8}{'support':>9}"]
    for cause, m in result["per_cause"].items():
        lines.append(f"{cause:<22}{m['precision']:>10.3f}{m['recall']:>8.3f}{m['f1']:>8.3f}"
                     f"{m['support']:>9d}")
    lines.append("")
    for key in ("n_tickets", "macro_f1", "delivered_share", "delivered_precision",
                "system_access_diagnosed", "novel_escalated_recall", "ece", "seconds"):
        if key in result:
            lines.append(f"{key:<26}{result[key]}")
    return "\n".join(lines)
