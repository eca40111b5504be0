"""From a trained model to the served one: register it as a candidate version, compare it on
its held-out tickets with the rules alone and with the serving model, promote it unless it is
worse. `build_triage_model` (train, register, promote) is what the Dagster `triage_model`
asset calls."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np

from altor_pipelines.errors import ModelRegistryError
from altor_pipelines.ml import registry
from altor_pipelines.ml.baselines import rule_causes
from altor_pipelines.ml.dataset import (
    KEY,
    TABLES,
    TableNames,
    feature_matrix,
    load_dataset,
    load_ticket_frame,
)
from altor_pipelines.ml.train import (
    DEFAULT_TRAIN,
    TrainConfig,
    TrainResult,
    full_proba,
    score_model,
    train_triage_model,
)
from altor_pipelines.warehouse.duckdb import SQL_DIR

log = logging.getLogger(__name__)


def register_candidate(result: TrainResult, root: Path, sql_dir: Path = SQL_DIR,
                       now: datetime | None = None) -> str:
    """Save the trained model as a new version (not yet served); returns the version."""
    return registry.save_model(root, result.model, result.metadata(sql_dir), now)


def _scores(s: dict[str, Any]) -> dict[str, Any]:
    return {"n_tickets": s["n_tickets"], "macro_f1": s["macro_f1"],
            "delivered_precision": s["delivered_precision"],
            "delivered_share": s["delivered_share"], "ece": s["ece"],
            "delivered_by": s["delivered_by"]}


def _held_out_scores(con: duckdb.DuckDBPyConnection, loaded: registry.LoadedModel,
                     ticket_ids: list[int], recorded: dict[int, str], tables: TableNames,
                     rules_only: bool = False) -> dict[str, Any]:
    """The model's decisions (or, `rules_only`, its rule-decided causes alone) on the held-out
    tickets, scored against their recorded causes."""
    frame = load_ticket_frame(con, loaded.spec, ticket_ids, tables)
    proba = full_proba(loaded.model, feature_matrix(frame, loaded.spec), loaded.temperature)
    labels = np.array([recorded[t] for t in frame[KEY].to_list()], dtype=object)
    policy = loaded.policy.rules_only() if rules_only else loaded.policy
    return _scores(score_model(proba, labels, policy, rule_causes(frame, loaded.spec)))


# Against the serving model: no worse on any of these (the same held-out tickets and labels).
CURRENT_KEYS = ("macro_f1", "delivered_precision", "delivered_share")
# Against the rules alone (each cause whose rule reaches the target delivered by the rule, the
# rest abstained): a model must deliver at least as much and score at least as well.
RULES_KEYS = ("delivered_share", "macro_f1")


def promote_if_not_worse(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    candidate: str,
    sql_dir: Path = SQL_DIR,
    tolerance: float = 0.0,
    tables: TableNames = TABLES,
) -> dict[str, Any]:
    """Compare the candidate with the rules alone and with the serving model on the candidate's
    held-out tickets (recorded causes, the same for all); promote it unless it delivers less or
    scores worse than either. With no serving model (or one that can no longer serve) the
    rules alone still have to be beaten. The comparison is written into the candidate's
    metadata.json either way, and a refusal is logged as a warning; returns it."""
    cand = registry.load_model(root, candidate, sql_dir)
    meta = cand.metadata
    ids = meta["held_out"]["ticket_ids"]
    recorded = dict(zip(ids, meta["held_out"]["recorded"], strict=True))
    comparison: dict[str, Any] = {
        "compared_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "held_out_tickets": len(ids), "labels": "recorded causes of the held-out tickets",
        "rule": f"promote unless {', '.join(RULES_KEYS)} is lower than the rules alone's, or "
                f"{', '.join(CURRENT_KEYS)} lower than the serving model's, by more than "
                f"{tolerance}",
        "candidate_version": candidate,
        "candidate": _held_out_scores(con, cand, ids, recorded, tables),
        "rules_only": _held_out_scores(con, cand, ids, recorded, tables, rules_only=True),
    }
    ok_rules, why_rules = registry.not_worse(comparison["candidate"], comparison["rules_only"],
                                             RULES_KEYS, tolerance)
    why_rules = f"against the rules alone: {why_rules}"
    current = registry.current_version(root)
    comparison["current_version"] = current
    if current is None:
        comparison |= {"promoted": ok_rules, "reason": f"no current model; {why_rules}"}
    elif current == candidate:
        comparison |= {"promoted": True, "reason": "candidate is already current"}
    else:
        try:
            cur = registry.load_model(root, current, sql_dir)
        except ModelRegistryError as e:
            comparison |= {"promoted": ok_rules,
                           "reason": f"current model cannot serve: {e}; {why_rules}"}
        else:
            comparison["current"] = _held_out_scores(con, cur, ids, recorded, tables)
            ok, why = registry.not_worse(comparison["candidate"], comparison["current"],
                                         CURRENT_KEYS, tolerance)
            comparison |= {"promoted": ok and ok_rules,
                           "reason": f"against the serving model: {why}; {why_rules}"}
    registry.record_promotion(root, candidate, comparison)
    if comparison["promoted"]:
        log.info("triage model %s promoted: %s", candidate, comparison["reason"])
    else:
        log.warning("WARNING: triage model %s refused, %s keeps serving: %s", candidate,
                    current or "no model", comparison["reason"])
    return comparison


def build_triage_model(
    con: duckdb.DuckDBPyConnection,
    models_root: Path,
    sql_dir: Path = SQL_DIR,
    before: datetime | None = None,
    config: TrainConfig = DEFAULT_TRAIN,
    promote: bool = True,
    tables: TableNames = TABLES,
) -> dict[str, Any]:
    """The `triage_model` asset: load labelled history (created before `before`), train,
    register a candidate and promote it if it is not worse. Returns a summary for the asset's
    metadata."""
    dataset = load_dataset(con, before=before, tables=tables)
    result = train_triage_model(dataset, config)
    version = register_candidate(result, models_root, sql_dir)
    comparison = promote_if_not_worse(con, models_root, version, sql_dir, tables=tables) \
        if promote else None
    test = result.metrics["test_cleaned"]
    return {
        "version": version,
        "promoted": bool(comparison and comparison["promoted"]),
        "promotion_reason": comparison["reason"] if comparison else "promotion not requested",
        "rows": dataset.frame.height,
        "rows_per_class": dataset.label_counts(),
        "decided_by": {src: result.policy.by(src) for src in ("model", "rule", "abstain")},
        "validation": result.policy.validation,
        "warnings": result.warnings + ([] if comparison is None or comparison["promoted"] else
                                       [f"candidate {version} refused: "
                                        f"{comparison['reason']}"]),
        "test_macro_f1": test["macro_f1"],
        "test_delivered_precision": test["delivered_precision"],
        "test_delivered_share": test["delivered_share"],
        "test_ece": test["ece"],
        "estimated_label_noise": result.noise.estimated_noise_rate if result.noise else None,
        "train_seconds": round(result.seconds, 2),
    }

