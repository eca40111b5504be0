"""Training: time split, label cleaning, calibrated fit, threshold, held-out evaluation,
baselines; then registration and the promotion rule. `build_triage_model` is what the Dagster
`triage_model` asset calls; the retraining notebook calls the same functions one by one."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from altor_pipelines.errors import ModelRegistryError
from altor_pipelines.ml import registry
from altor_pipelines.ml.baselines import baseline_predictions, score_predictions
from altor_pipelines.ml.calibration import apply_temperature, fit_temperature
from altor_pipelines.ml.dataset import (
    KEY,
    LABEL,
    TABLES,
    Dataset,
    FeatureSpec,
    TableNames,
    TimeSplit,
    feature_matrix,
    load_dataset,
    load_ticket_frame,
    time_split,
)
from altor_pipelines.ml.decision import MEDIUM_FLOOR, ThresholdChoice, choose_threshold, decide
from altor_pipelines.ml.evaluate import (
    confusion,
    reliability_table,
    score_diagnoses,
)
from altor_pipelines.ml.model import ModelConfig, build_classifier
from altor_pipelines.ml.noise import NoiseReport, find_label_issues, out_of_fold_proba
from altor_pipelines.taxonomy import CAUSES
from altor_pipelines.warehouse.duckdb import SQL_DIR

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    target_precision: float = 0.95
    min_delivered: int = 20
    clean_labels: bool = True
    relabel_min: float = 0.9
    noise_folds: int = 5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


DEFAULT_TRAIN = TrainConfig()


def full_proba(model: Any, X: pl.DataFrame, temperature: float = 1.0) -> np.ndarray:
    """Probabilities with one column per taxonomy cause (zeros for causes never trained on),
    rescaled by the model's calibration temperature."""
    p = model.predict_proba(X)
    out = np.zeros((X.height, len(CAUSES)))
    for j, cls in enumerate(model.classes_):
        out[:, CAUSES.index(str(cls))] = p[:, j]
    return out if temperature == 1.0 else apply_temperature(out, temperature)


def _indices(labels: np.ndarray) -> np.ndarray:
    return np.array([CAUSES.index(str(c)) for c in labels], dtype=int)


def decisions(proba: np.ndarray, threshold: float | None) -> list:
    return [decide(row, list(CAUSES), threshold) for row in proba]


def score_model(proba: np.ndarray, labels: np.ndarray, threshold: float | None) -> dict[str, Any]:
    """The `altor eval` figures of decisions from `proba` against `labels`, with the confusion
    matrix (abstentions in their own column)."""
    ds = decisions(proba, threshold)
    cause = [d.cause for d in ds]
    out = score_diagnoses(list(labels), cause, [d.top_cause for d in ds],
                          [d.top_probability for d in ds], [d.escalate for d in ds])
    out["confusion"] = confusion(list(labels), cause)
    return out


@dataclass
class TrainResult:
    model: Any
    spec: FeatureSpec
    config: TrainConfig
    split: TimeSplit
    noise: NoiseReport | None
    threshold: ThresholdChoice
    metrics: dict[str, Any]
    baselines: dict[str, dict[str, dict[str, float]]]
    seconds: float
    # cleaned labels per split ("train", "valid", "test"), and every validation ticket's
    # recorded cause ("valid_recorded": what the temperature and threshold were fitted on)
    labels: dict[str, np.ndarray]
    proba: dict[str, np.ndarray]  # calibrated probabilities, same keys but "train"
    calibration: dict[str, Any]  # temperature, recording-error rate (applied by full_proba)

    def metadata(self, sql_dir: Path = SQL_DIR) -> dict[str, Any]:
        test = self.split.test
        recorded = dict(self.split.train.group_by(LABEL).len().iter_rows())
        cleaned_values, cleaned_counts = np.unique(self.labels["train"], return_counts=True)
        return {
            "model_name": "triage",
            "created_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "label_source": "staging.stg_zendesk__tickets.recorded_root_cause of solved/closed "
                            "tickets (help-desk history); never truth/",
            "training_window": self.split.windows(),
            "rows_per_class": {
                "train_recorded": {c: int(recorded.get(c, 0)) for c in CAUSES},
                "train_cleaned": {c: int(dict(zip(cleaned_values, cleaned_counts,
                                                  strict=True)).get(c, 0)) for c in CAUSES},
            },
            "escalated_share_per_class": _escalated_share(self.split.train),
            "noise": self.noise.summary() if self.noise else None,
            "metrics": self.metrics,
            "per_class_metrics": self.metrics["test_cleaned"]["per_cause"],
            "confusion_matrix": self.metrics["test_cleaned"]["confusion"],
            "calibration": self.calibration,
            "calibration_error": {"valid_cleaned": self.metrics["valid_cleaned"]["ece"],
                                  "test_cleaned": self.metrics["test_cleaned"]["ece"],
                                  "test_recorded": self.metrics["test_recorded"]["ece"],
                                  "bins": 10},
            "decision": {**self.threshold.to_dict(), "medium_floor": MEDIUM_FLOOR,
                         "bands": "high: p ≥ threshold (delivered); medium: 0.5 ≤ p < threshold;"
                                  " low: p < 0.5"},
            "baselines": self.baselines,
            "features": self.spec.feature_names,
            "feature_spec": self.spec.to_dict(),
            "feature_sql_hash": registry.feature_sql_hash(sql_dir),
            "library_versions": registry.library_versions(),
            "config": self.config.to_dict(),
            "classes": [str(c) for c in self.model.classes_],
            "held_out": {"ticket_ids": [int(t) for t in test[KEY].to_list()],
                         "recorded": test[LABEL].to_list()},
            "train_seconds": round(self.seconds, 2),
        }


def _escalated_share(frame: pl.DataFrame) -> dict[str, float | None]:
    if "escalated_to_engineering" not in frame.columns:
        return {}
    g = frame.group_by(LABEL).agg(pl.col("escalated_to_engineering").cast(pl.Float64).mean())
    return {c: (round(v, 4) if v is not None else None) for c, v in g.iter_rows()}


def train_triage_model(dataset: Dataset, config: TrainConfig = DEFAULT_TRAIN) -> TrainResult:
    """Fit the calibrated classifier on the oldest tickets, choose the threshold on the next,
    evaluate on the newest; the recorded labels are cleaned first (module `noise`)."""
    with threadpool_limits(limits=config.model.threads):
        return _train(dataset, config)


def _train(dataset: Dataset, config: TrainConfig) -> TrainResult:
    started = time.perf_counter()
    spec = dataset.spec
    split = time_split(dataset.frame, config.split)
    history = pl.concat([split.train, split.valid])
    y_hist = history[LABEL].to_numpy().astype(object)
    noise = None
    keep = np.ones(len(y_hist), dtype=bool)
    cleaned = y_hist.copy()
    if config.clean_labels:
        fewest = int(np.unique(y_hist, return_counts=True)[1].min())
        oof = out_of_fold_proba(build_classifier(spec, config.model, smallest_class=fewest),
                                feature_matrix(history, spec), y_hist, list(CAUSES),
                                config.noise_folds, config.model.seed,
                                config.model.n_jobs)
        noise = find_label_issues(oof, y_hist, list(CAUSES), config.relabel_min)
        keep, cleaned = noise.keep, noise.labels
    n_train = split.train.height
    tr_keep, va_keep = keep[:n_train], keep[n_train:]
    train_x = split.train.filter(pl.Series(tr_keep))
    y_train = cleaned[:n_train][tr_keep]
    y_valid = cleaned[n_train:][va_keep]

    smallest = int(np.unique(y_train, return_counts=True)[1].min())
    model = build_classifier(spec, config.model, smallest_class=smallest).fit(
        feature_matrix(train_x, spec), y_train)
    # Calibration and threshold on every validation ticket with its *recorded* cause, through
    # the help desk's recording-error rate (module `calibration`): cleaned validation labels
    # agree with the model by construction and made both optimistic.
    error_rate = noise.recording_error_rate if noise else 0.0
    y_valid_recorded = split.valid[LABEL].to_numpy().astype(object)
    raw_valid = full_proba(model, feature_matrix(split.valid, spec))
    temperature = fit_temperature(raw_valid, _indices(y_valid_recorded), error_rate)
    p_valid_recorded = apply_temperature(raw_valid, temperature)
    correct = np.array(CAUSES, dtype=object)[p_valid_recorded.argmax(axis=1)] == y_valid_recorded
    # a wrong record makes a right diagnosis look wrong ~error_rate of the time: the recorded
    # precision of a set that is `target` right is about target x (1 - error_rate)
    threshold = choose_threshold(p_valid_recorded.max(axis=1), correct,
                                 config.target_precision * (1.0 - error_rate),
                                 config.min_delivered, reported_target=config.target_precision)
    p_valid = p_valid_recorded[va_keep]  # the cleaned validation tickets, for reporting
    p_test = full_proba(model, feature_matrix(split.test, spec), temperature)
    y_test_recorded = split.test[LABEL].to_numpy().astype(object)
    y_test_cleaned = _clean_test_labels(dataset.frame, split, spec, config)
    metrics = {
        "valid_cleaned": score_model(p_valid, y_valid, threshold.threshold),
        "test_recorded": score_model(p_test, y_test_recorded, threshold.threshold),
        "test_cleaned": score_model(p_test, y_test_cleaned, threshold.threshold),
    }
    metrics["reliability_test_cleaned"] = reliability_table(
        p_test.max(axis=1), np.array(CAUSES, dtype=object)[p_test.argmax(axis=1)]
        == y_test_cleaned)
    full_pred = np.array(CAUSES, dtype=object)[p_test.argmax(axis=1)]
    preds = {"full_model": full_pred,
             **baseline_predictions(train_x, y_train, split.test, spec, config.model)}
    baselines = {name: {"recorded": score_predictions(y_test_recorded, p),
                        "cleaned": score_predictions(y_test_cleaned, p)}
                 for name, p in preds.items()}
    seconds = time.perf_counter() - started
    log.info("triage model trained in %.1fs: threshold %s, test macro-F1 %.3f", seconds,
             threshold.threshold, metrics["test_cleaned"]["macro_f1"])
    return TrainResult(model, spec, config, split, noise, threshold, metrics, baselines, seconds,
                       {"train": y_train, "valid": y_valid, "test": y_test_cleaned,
                        "valid_recorded": y_valid_recorded},
                       {"valid": p_valid, "test": p_test, "valid_recorded": p_valid_recorded},
                       {"method": "temperature fitted on the recorded validation causes through "
                                  "a uniform recording-error channel (ml/calibration.py)",
                        "temperature": temperature, "recording_error_rate": error_rate,
                        "validation_tickets": len(y_valid_recorded)})


def _clean_test_labels(frame: pl.DataFrame, split: TimeSplit, spec: FeatureSpec,
                       config: TrainConfig) -> np.ndarray:
    """Cleaned held-out labels, for reporting only: one more confident-learning pass over all
    labelled tickets (the model itself never trains on the test rows or these labels). Rows the
    pass would drop keep their recorded cause."""
    y = frame[LABEL].to_numpy().astype(object)
    if not config.clean_labels:
        return split.test[LABEL].to_numpy().astype(object)
    fewest = int(np.unique(y, return_counts=True)[1].min())
    oof = out_of_fold_proba(build_classifier(spec, config.model, smallest_class=fewest),
                            feature_matrix(frame, spec), y,
                            list(CAUSES), config.noise_folds, config.model.seed + 1,
                            config.model.n_jobs)
    report = find_label_issues(oof, y, list(CAUSES), config.relabel_min)
    by_id = dict(zip(frame[KEY].to_list(), report.labels, strict=True))
    return np.array([by_id[t] for t in split.test[KEY].to_list()], dtype=object)


def register_candidate(result: TrainResult, root: Path, sql_dir: Path = SQL_DIR,
                       now: datetime | None = None) -> str:
    """Save the trained model as a new version (not yet served); returns the version."""
    return registry.save_model(root, result.model, result.metadata(sql_dir), now)


def _held_out_scores(con: duckdb.DuckDBPyConnection, loaded: registry.LoadedModel,
                     ticket_ids: list[int], recorded: dict[int, str], tables: TableNames
                     ) -> dict[str, Any]:
    frame = load_ticket_frame(con, loaded.spec, ticket_ids, tables)
    proba = full_proba(loaded.model, feature_matrix(frame, loaded.spec), loaded.temperature)
    labels = np.array([recorded[t] for t in frame[KEY].to_list()], dtype=object)
    s = score_model(proba, labels, loaded.threshold)
    return {"n_tickets": s["n_tickets"], "macro_f1": s["macro_f1"],
            "delivered_precision": s["delivered_precision"],
            "delivered_share": s["delivered_share"], "ece": s["ece"]}


def promote_if_not_worse(
    con: duckdb.DuckDBPyConnection,
    root: Path,
    candidate: str,
    sql_dir: Path = SQL_DIR,
    tolerance: float = 0.0,
    tables: TableNames = TABLES,
) -> dict[str, Any]:
    """Compare the candidate with the current model on the candidate's held-out tickets
    (recorded causes, the same for both); promote it unless it is worse. The comparison is
    written into the candidate's metadata.json either way; returns it."""
    cand = registry.load_model(root, candidate, sql_dir)
    meta = cand.metadata
    ids = meta["held_out"]["ticket_ids"]
    recorded = dict(zip(ids, meta["held_out"]["recorded"], strict=True))
    comparison: dict[str, Any] = {
        "compared_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "held_out_tickets": len(ids), "labels": "recorded causes of the held-out tickets",
        "rule": f"promote unless macro_f1 or delivered_precision is lower than the current "
                f"model's by more than {tolerance}",
        "candidate_version": candidate,
        "candidate": _held_out_scores(con, cand, ids, recorded, tables),
    }
    current = registry.current_version(root)
    comparison["current_version"] = current
    if current is None:
        comparison |= {"promoted": True, "reason": "no current model"}
    elif current == candidate:
        comparison |= {"promoted": True, "reason": "candidate is already current"}
    else:
        try:
            cur = registry.load_model(root, current, sql_dir)
        except ModelRegistryError as e:
            comparison |= {"promoted": True, "reason": f"current model cannot serve: {e}"}
        else:
            comparison["current"] = _held_out_scores(con, cur, ids, recorded, tables)
            ok, why = registry.not_worse(comparison["candidate"], comparison["current"],
                                         tolerance=tolerance)
            comparison |= {"promoted": ok, "reason": why}
    registry.record_promotion(root, candidate, comparison)
    log.info("triage model %s %s: %s", candidate,
             "promoted" if comparison["promoted"] else "not promoted", comparison["reason"])
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
        "threshold": result.threshold.threshold,
        "test_macro_f1": test["macro_f1"],
        "test_delivered_precision": test["delivered_precision"],
        "test_delivered_share": test["delivered_share"],
        "test_ece": test["ece"],
        "estimated_label_noise": result.noise.estimated_noise_rate if result.noise else None,
        "train_seconds": round(result.seconds, 2),
    }

