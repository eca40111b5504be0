"""What the classifier's top cause alone would score on each zoo world: model variants fitted on
the history's recorded causes (no label cleaning, no decision), their most probable cause
delivered for every ticket after go-live and scored against `truth/`.

The pipeline's figure (`altor eval --zoo`) is this top cause after label cleaning, calibration
and the per-cause decision (which abstains where a cause's precision target is out of reach).
The gap between the two says whether a world is lost to the model or to the decision; comparing
variants here says whether a model change is worth a full `--seeds` run. Reads the warehouses a
`--zoo` run kept (read-only), like `zoo_seeds`.

`--labels` says what each variant is fitted on, and each row reports the share of those
training labels that are wrong against `truth/`:
- `recorded`: the help desk's recorded causes, as they are;
- `cleaned`: the pipeline's confident-learning cleaning (`train.label_issues`: label issues
  relabelled at p >= `TrainConfig.relabel_min`, the others dropped);
- `dropped`: the same label issues, all dropped, none relabelled;
- `true`: the true causes from `truth/` (what no deployment has: the ceiling of cleaning).

    python -m altor_sim.evaluation.model_ceiling --zoo-dir data/zoo --variants base,linear --seeds 2
    python -m altor_sim.evaluation.model_ceiling --zoo-dir data/zoo --labels recorded,dropped,true
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from threadpoolctl import threadpool_limits

from altor_pipelines.ml.dataset import KEY, LABEL, feature_matrix, load_dataset, load_ticket_frame
from altor_pipelines.ml.evaluate import confusion, score_diagnoses
from altor_pipelines.ml.model import ModelConfig, build_classifier
from altor_pipelines.ml.train import DEFAULT_TRAIN, full_proba, label_issues
from altor_pipelines.taxonomy import CAUSES
from altor_pipelines.warehouse.duckdb import connect
from altor_sim.evaluation.classifier import world_go_live
from altor_sim.evaluation.truth import read_truth, true_causes
from altor_sim.evaluation.zoo_seeds import kept_worlds

# The variants measured in docs/classifier.md ("What the model's top cause would score").
VARIANTS: dict[str, ModelConfig] = {
    "base": ModelConfig(),
    "small_trees": ModelConfig(boost_max_leaf_nodes=7, boost_min_samples_leaf=10),
    "slow": ModelConfig(boost_learning_rate=0.05, boost_iterations=200, boost_max_leaf_nodes=7),
    "lr05": ModelConfig(boost_learning_rate=0.05),
    "linear": ModelConfig(kind="linear"),
}
LABELS = ("recorded", "cleaned", "dropped", "true")


def world_frames(world_dir: Path, warehouse: Path) -> tuple[Any, pl.DataFrame]:
    """(the labelled history before go-live, the tickets after it with their true cause)."""
    con = connect(warehouse, read_only=True)
    try:
        history = load_dataset(con, before=world_go_live(world_dir))
        tickets = load_ticket_frame(con, history.spec)
    finally:
        con.close()
    _, truth = read_truth(world_dir)
    return history, tickets.join(truth.select(KEY, "root_cause"), on=KEY, how="inner")


def top_cause_scores(truth: np.ndarray, proba: np.ndarray) -> dict[str, Any]:
    """The `altor eval` figures (`score_diagnoses`, the one definition) of delivering the top
    cause of `proba` for every ticket: accuracy is then the delivered precision. Plus the
    confusion matrix."""
    predicted = list(np.array(CAUSES, dtype=object)[proba.argmax(axis=1)])
    s = score_diagnoses(list(truth), predicted, predicted, proba.max(axis=1),
                        [False] * len(predicted))
    return {"accuracy": s["delivered_precision"], "macro_f1": s["macro_f1"], "ece": s["ece"],
            "confusion": confusion(list(truth), predicted)}


def training_labels(history: Any, labels: str, config: ModelConfig,
                    truth_by_id: dict[int, str]) -> tuple[np.ndarray, np.ndarray]:
    """(rows kept, their labels) of the history under the `labels` mode (module docstring)."""
    frame = history.frame
    recorded = frame[LABEL].to_numpy().astype(object)
    if labels == "recorded":
        return np.ones(len(recorded), dtype=bool), recorded
    if labels == "true":
        return np.ones(len(recorded), dtype=bool), np.array(
            [truth_by_id[t] for t in frame[KEY].to_list()], dtype=object)
    with threadpool_limits(limits=config.threads):
        issues = label_issues(history.spec, feature_matrix(frame, history.spec), recorded,
                              replace(DEFAULT_TRAIN, model=config))
    if labels == "cleaned":
        return issues.keep, issues.labels
    return ~issues.issues, recorded  # dropped


def score_variant(history: Any, after: pl.DataFrame, config: ModelConfig, labels: str,
                  truth_by_id: dict[int, str]) -> dict[str, Any]:
    keep, y = training_labels(history, labels, config, truth_by_id)
    frame = history.frame.filter(pl.Series(keep))
    y = y[keep]
    truth = np.array([truth_by_id[t] for t in frame[KEY].to_list()], dtype=object)
    X = feature_matrix(frame, history.spec)
    fewest = int(np.unique(y, return_counts=True)[1].min())
    with threadpool_limits(limits=config.threads):
        model = build_classifier(history.spec, config, smallest_class=fewest).fit(X, y)
        proba = full_proba(model, feature_matrix(after, history.spec))
    scores = top_cause_scores(after["root_cause"].to_numpy().astype(object), proba)
    scores["kept_share"] = float(keep.mean())
    scores["wrong_label_share"] = float(np.mean(y != truth))
    return scores


def run_model_ceiling(zoo_dir: Path, variants: list[str], seeds: int = 1,
                      echo: Callable[[str], Any] = print,
                      labels: list[str] | None = None) -> dict[str, Any]:
    """Each variant × training labels × seed on each kept world; writes
    `<zoo_dir>/model_ceiling.json`."""
    labels = labels or ["recorded"]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown model variants {unknown}: one of {', '.join(VARIANTS)}")
    unknown = [v for v in labels if v not in LABELS]
    if unknown:
        raise ValueError(f"unknown training labels {unknown}: one of {', '.join(LABELS)}")
    rows = []
    for name, world_dir, warehouse in kept_worlds(zoo_dir):
        history, after = world_frames(world_dir, warehouse)
        truth_by_id = true_causes(world_dir)
        for variant in variants:
            for label_mode in labels:
                runs = [score_variant(history, after, replace(VARIANTS[variant], seed=s),
                                      label_mode, truth_by_id) for s in range(seeds)]
                row = {"world": name, "variant": variant, "labels": label_mode,
                       "tickets": after.height,
                       "macro_f1_by_seed": [r["macro_f1"] for r in runs],
                       "macro_f1": round(statistics.mean(r["macro_f1"] for r in runs), 4),
                       "accuracy": round(statistics.mean(r["accuracy"] for r in runs), 4),
                       "kept_share": round(statistics.mean(r["kept_share"] for r in runs), 4),
                       "wrong_label_share": round(statistics.mean(
                           r["wrong_label_share"] for r in runs), 4),
                       "confusion": runs[0]["confusion"]}
                rows.append(row)
                echo(f"{name:<20}{variant:<13}{label_mode:<10} top-cause macro-F1 "
                     f"{row['macro_f1']:.3f} accuracy {row['accuracy']:.3f} (seeds "
                     f"{row['macro_f1_by_seed']}); trained on {row['kept_share']:.0%} of the "
                     f"history, {row['wrong_label_share']:.1%} of its labels wrong")
    keys = [(v, m) for v in variants for m in labels]
    worst = {k: min((r for r in rows if (r["variant"], r["labels"]) == k),
                    key=lambda r: r["macro_f1"]) for k in keys} if rows else {}
    for (v, m), r in worst.items():
        echo(f"worst world for {v} on {m} labels: {r['world']} {r['macro_f1']:.3f}")
    table = {"seeds": seeds, "rows": rows,
             "worst": {f"{v}/{m}": {"world": r["world"], "macro_f1": r["macro_f1"]}
                       for (v, m), r in worst.items()}}
    (Path(zoo_dir) / "model_ceiling.json").write_text(json.dumps(table, indent=2))
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo-dir", type=Path, default=Path("data/zoo"))
    parser.add_argument("--variants", default="base")
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--labels", default="recorded",
                        help=f"training labels, comma-separated: {', '.join(LABELS)}")
    args = parser.parse_args(argv)
    run_model_ceiling(args.zoo_dir, args.variants.split(","), args.seeds,
                      labels=args.labels.split(","))


if __name__ == "__main__":
    main()
