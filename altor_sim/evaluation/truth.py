"""A world's truth (`truth/tickets.csv`, read here and only here) and the scores of one model
version's diagnoses against it: what `altor eval` prints."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import polars as pl

from altor_pipelines.clock import naive_utc
from altor_pipelines.ml.evaluate import score_diagnoses


def _truth_rows(world_dir: Path) -> list[dict[str, str]]:
    with (Path(world_dir) / "truth" / "tickets.csv").open(newline="") as f:
        return list(csv.DictReader(f))


def true_causes(world_dir: Path) -> dict[int, str]:
    """Every ticket's true cause, before and after go-live (what the help desk's records are
    measured against)."""
    return {int(r["ticket_id"]): r["root_cause"] for r in _truth_rows(world_dir)}


def read_truth(world_dir: Path) -> tuple[dict[str, Any], pl.DataFrame]:
    """world.json and the truth of the tickets created at or after go-live."""
    world = json.loads((Path(world_dir) / "world.json").read_text())
    go_live = naive_utc(world["go_live"])
    rows = [r for r in _truth_rows(world_dir) if naive_utc(r["created_at"]) >= go_live]
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
