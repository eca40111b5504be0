"""Training: time split, label cleaning, out-of-fold probabilities over the history, calibrated
fit, per-cause decisions (model, rule or abstain), held-out evaluation, baselines. What
happens to the trained model next (registration, the promotion rule, the `triage_model`
asset's `build_triage_model`) is in `ml/promote.py`; the retraining notebook calls the same
functions one by one."""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from altor_pipelines.ml import registry
from altor_pipelines.ml.baselines import baseline_predictions, rule_causes, score_predictions
from altor_pipelines.ml.calibration import apply_temperature, fit_temperature
from altor_pipelines.ml.dataset import (
    KEY,
    LABEL,
    Dataset,
    FeatureSpec,
    TimeSplit,
    feature_matrix,
    time_split,
)
from altor_pipelines.ml.decision import (
    MEDIUM_FLOOR,
    DecisionConfig,
    DecisionPolicy,
    choose_policy,
    decisions,
)
from altor_pipelines.ml.evaluate import (
    confusion,
    reliability_table,
    score_diagnoses,
)
from altor_pipelines.ml.model import ModelConfig, build_classifier
from altor_pipelines.ml.noise import (
    NoiseReport,
    find_label_issues,
    out_of_fold_proba,
    out_of_fold_proba_cleaned,
)
from altor_pipelines.taxonomy import CAUSES
from altor_pipelines.warehouse.duckdb import SQL_DIR

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainConfig:
    model: ModelConfig = field(default_factory=ModelConfig)
    split: tuple[float, float, float] = (0.7, 0.15, 0.15)
    decision: DecisionConfig = field(default_factory=DecisionConfig)
    # a model delivering less than this share (out of fold, or on the held-out tickets) is
    # an error a person must see (settings.min_delivered_share in the pipeline)
    min_delivered_share: float = 0.5
    clean_labels: bool = True
    relabel_min: float = 0.9
    noise_folds: int = 5

    @property
    def target_precision(self) -> float:
        return self.decision.target_precision

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


def score_model(proba: np.ndarray, labels: np.ndarray, policy: DecisionPolicy,
                rule_cause: np.ndarray) -> dict[str, Any]:
    """The `altor eval` figures of the policy's decisions (model probabilities `proba`, the
    rules' causes `rule_cause`) against `labels`, with the confusion matrix (abstentions in
    their own column) and the deliveries by model and by rule."""
    ds = decisions(policy, proba, rule_cause)
    cause = [d.cause for d in ds]
    out = score_diagnoses(list(labels), cause, [d.top_cause for d in ds],
                          [d.top_probability for d in ds], [d.escalate for d in ds])
    out["confusion"] = confusion(list(labels), cause)
    out["delivered_by"] = {src: sum(d.decided_by == src for d in ds)
                           for src in ("model", "rule", "abstain")}
    return out


@dataclass
class TrainResult:
    model: Any
    spec: FeatureSpec
    config: TrainConfig
    split: TimeSplit
    noise: NoiseReport | None
    policy: DecisionPolicy
    metrics: dict[str, Any]
    baselines: dict[str, dict[str, dict[str, float]]]
    seconds: float
    # cleaned labels ("train": what the model was fitted on, "valid": the kept history tickets,
    # "test"), and every history ticket's recorded cause ("valid_recorded": what the
    # temperature and the per-cause decisions were fitted on, out of fold)
    labels: dict[str, np.ndarray]
    proba: dict[str, np.ndarray]  # calibrated probabilities, same keys but "train"
    calibration: dict[str, Any]  # temperature, recording-error rate (applied by full_proba)
    warnings: list[str] = field(default_factory=list)  # errors a person must see

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
            "decision": {**self.policy.to_dict(),
                         "min_delivered_share": self.config.min_delivered_share,
                         "medium_floor": MEDIUM_FLOOR,
                         "bands": "high: delivered (by the model or by the rule); medium: "
                                  "abstained, p ≥ 0.5; low: abstained, p < 0.5"},
            "warnings": self.warnings,
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


def label_issues(spec: FeatureSpec, X: pl.DataFrame, recorded: np.ndarray,
                 config: TrainConfig) -> NoiseReport:
    """The training labels' issues and their cleaning (module `noise`), from `config.model`'s
    out-of-fold probabilities over `config.noise_folds` folds."""
    fewest = int(np.unique(recorded, return_counts=True)[1].min())
    oof = out_of_fold_proba(build_classifier(spec, config.model, smallest_class=fewest),
                            X, recorded, list(CAUSES), config.noise_folds, config.model.seed,
                            config.model.n_jobs)
    return find_label_issues(oof, recorded, list(CAUSES), config.relabel_min)


def train_triage_model(dataset: Dataset, config: TrainConfig = DEFAULT_TRAIN) -> TrainResult:
    """Fit the calibrated classifier on the oldest tickets, choose the threshold on the next,
    evaluate on the newest; the recorded labels are cleaned first (module `noise`)."""
    with threadpool_limits(limits=config.model.threads):
        return _train(dataset, config)


def _train(dataset: Dataset, config: TrainConfig) -> TrainResult:
    started = time.perf_counter()
    spec = dataset.spec
    split = time_split(dataset.frame, config.split)
    # The history (train + validation, every labelled ticket but the newest held out) is both
    # what the model learns from and, out of fold, what its decisions are fitted on: with ~1,000
    # labels one 15% slice holds a dozen tickets of a rare cause, too few to set its threshold.
    history = pl.concat([split.train, split.valid])
    X_hist = feature_matrix(history, spec)
    y_hist = history[LABEL].to_numpy().astype(object)
    noise = None
    keep = np.ones(len(y_hist), dtype=bool)
    cleaned = y_hist.copy()
    if config.clean_labels:
        noise = label_issues(spec, X_hist, y_hist, config)
        keep, cleaned = noise.keep, noise.labels
    # Out-of-fold probabilities of the procedure that is served (fitted on cleaned labels), on
    # every history ticket, dropped ones included: calibration and decisions are fitted on them.
    raw_oof = out_of_fold_proba_cleaned(
        lambda fewest: build_classifier(spec, config.model, smallest_class=fewest),
        X_hist, y_hist, cleaned, keep, list(CAUSES), config.noise_folds,
        config.model.seed + 2)
    train_x = history.filter(pl.Series(keep))
    y_train = cleaned[keep]
    smallest = int(np.unique(y_train, return_counts=True)[1].min())
    model = build_classifier(spec, config.model, smallest_class=smallest).fit(
        feature_matrix(train_x, spec), y_train)
    # Calibration and decisions against the *recorded* causes through the help desk's
    # recording-error rate (module `calibration`): cleaned labels agree with the model by
    # construction and made both optimistic.
    error_rate = noise.recording_error_rate if noise else 0.0
    temperature = fit_temperature(raw_oof, _indices(y_hist), error_rate)
    p_oof = apply_temperature(raw_oof, temperature)
    rules_hist = rule_causes(history, spec)
    policy = choose_policy(p_oof, _indices(y_hist), rules_hist, list(CAUSES), error_rate,
                           config.decision, noise.recording_error_rates if noise else None)
    raw_test = full_proba(model, feature_matrix(split.test, spec))
    p_test = apply_temperature(raw_test, temperature)
    rules_test = rule_causes(split.test, spec)
    y_test_recorded = split.test[LABEL].to_numpy().astype(object)
    y_test_cleaned = _clean_test_labels(raw_test, y_test_recorded, config)
    metrics = {
        "valid_recorded": score_model(p_oof, y_hist, policy, rules_hist),
        "valid_cleaned": score_model(p_oof[keep], cleaned[keep], policy, rules_hist[keep]),
        "test_recorded": score_model(p_test, y_test_recorded, policy, rules_test),
        "test_cleaned": score_model(p_test, y_test_cleaned, policy, rules_test),
        "rules_only_test_recorded": score_model(p_test, y_test_recorded, policy.rules_only(),
                                                rules_test),
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
    warnings = training_warnings(policy, metrics, config)
    for w in warnings:
        log.warning("WARNING: %s", w)
    seconds = time.perf_counter() - started
    log.info("triage model trained in %.1fs: model decides %s, rules %s, abstains on %s; "
             "test macro-F1 %.3f", seconds, policy.by("model"), policy.by("rule"),
             policy.by("abstain"), metrics["test_cleaned"]["macro_f1"])
    return TrainResult(model, spec, config, split, noise, policy, metrics, baselines, seconds,
                       {"train": y_train, "valid": cleaned[keep], "test": y_test_cleaned,
                        "valid_recorded": y_hist},
                       {"valid": p_oof[keep], "test": p_test, "valid_recorded": p_oof},
                       {"method": "temperature fitted on the recorded causes of every history "
                                  "ticket (out-of-fold probabilities) through a uniform "
                                  "recording-error channel (ml/calibration.py)",
                        "temperature": temperature, "recording_error_rate": error_rate,
                        "validation_tickets": len(y_hist)},
                       warnings)


def training_warnings(policy: DecisionPolicy, metrics: dict[str, Any], config: TrainConfig
                      ) -> list[str]:
    """What a person must see about a trained model: a delivered share under the floor (out of
    fold or on the held-out tickets), an estimated precision under target, causes abstained."""
    out = []
    v = policy.validation
    floor = config.min_delivered_share
    if v.get("delivered_share", 0.0) < floor:
        out.append(f"the triage model delivers {v.get('delivered_share', 0.0):.1%} of the "
                   f"history tickets out of fold, under the floor of {floor:.0%} "
                   f"(min_delivered_share); abstained causes: {policy.by('abstain')}")
    test_share = metrics["test_recorded"]["delivered_share"]
    if test_share < floor:
        out.append(f"the triage model delivers {test_share:.1%} of the held-out tickets, under "
                   f"the floor of {floor:.0%} (min_delivered_share)")
    est = v.get("estimated_precision")
    if est is not None and est < policy.target_precision:
        out.append(f"the delivered diagnoses' estimated precision is {est:.3f} out of fold, "
                   f"under the target {policy.target_precision:.2f}")
    return out


def _clean_test_labels(raw_test: np.ndarray, recorded: np.ndarray, config: TrainConfig
                       ) -> np.ndarray:
    """Cleaned held-out labels, for reporting only: confident learning on the served model's
    probabilities of the held-out tickets (it never trained on them). Rows the pass would drop
    keep their recorded cause."""
    if not config.clean_labels or len(recorded) == 0:
        return recorded.copy()
    return find_label_issues(raw_test, recorded, list(CAUSES), config.relabel_min).labels
