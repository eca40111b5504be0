"""The model half of `altor eval --world DIR`: train on the history before the world's go-live,
diagnose the tickets created after it, score them against `truth/tickets.csv`.

The caller (the CLI) has already loaded the world through the servers and built features and
heuristics into `con`; it passes the time it started so that `seconds` covers the whole run.
"""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from altor_pipelines.ml.promote import build_triage_model
from altor_pipelines.ml.serve import diagnose, write_diagnoses
from altor_pipelines.ml.train import DEFAULT_TRAIN, TrainConfig
from altor_pipelines.warehouse.duckdb import SQL_DIR, sql_text
from altor_sim.evaluation.truth import evaluate_world


def world_go_live(world_dir: Path) -> datetime:
    world = json.loads((Path(world_dir) / "world.json").read_text())
    return datetime.fromisoformat(world["go_live"].replace("Z", "+00:00")).replace(tzinfo=None)


def score_world(
    con: duckdb.DuckDBPyConnection,
    world_dir: Path,
    models_root: Path,
    sql_dir: Path = SQL_DIR,
    started: float | None = None,
    config: TrainConfig = DEFAULT_TRAIN,
) -> dict[str, Any]:
    """Train (history before go-live), register, diagnose the evaluation period with that very
    model version, write the diagnoses, score them. `started`: a `time.perf_counter()` value."""
    started = time.perf_counter() if started is None else started
    go_live = world_go_live(world_dir)
    trained = build_triage_model(con, models_root, sql_dir, before=go_live, config=config)
    sql = sql_text("sim/tickets_since.sql")
    ids = [r[0] for r in con.execute(sql, {"since": go_live}).fetchall()]
    t0 = time.perf_counter()
    diagnoses = diagnose(con, models_root, sql_dir, ids, version=trained["version"])
    serve_seconds = time.perf_counter() - t0
    write_diagnoses(con, diagnoses)
    result = evaluate_world(world_dir, diagnoses, time.perf_counter() - started)
    result["model"] = {
        "version": trained["version"], "promoted": trained["promoted"],
        "promotion_reason": trained["promotion_reason"],
        "decided_by": trained["decided_by"], "validation": trained["validation"],
        "train_seconds": trained["train_seconds"],
        "serve_seconds_per_1000_tickets": round(1000 * serve_seconds / max(len(ids), 1), 3),
        "estimated_label_noise": trained["estimated_label_noise"],
        "by_model": int((diagnoses["decided_by"] == "model").sum()),
        "by_rule": int((diagnoses["decided_by"] == "rule").sum()),
    }
    warnings = list(trained["warnings"])
    if result["delivered_share"] < config.min_delivered_share:
        warnings.append(f"the model delivered a cause for {result['delivered_share']:.1%} of the "
                        f"{result['n_tickets']} tickets after go-live, under the floor of "
                        f"{config.min_delivered_share:.0%} (min_delivered_share)")
    result["warnings"] = warnings
    return result
