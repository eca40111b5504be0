"""What the classifier's top cause alone would score on each zoo world: model variants fitted on
the history's recorded causes (no label cleaning, no decision), their most probable cause
delivered for every ticket after go-live and scored against `truth/`.

The pipeline's figure (`altor eval --zoo`) is this top cause after label cleaning, calibration
and the per-cause decision (which abstains where a cause's precision target is out of reach).
The gap between the two says whether a world is lost to the model or to the decision; comparing
variants here says whether a model change is worth a full `--seeds` run. Reads the warehouses a
`--zoo` run kept (read-only), like `zoo_seeds`.

    python -m altor_sim.evaluation.model_ceiling --zoo-dir data/zoo --variants base,linear --seeds 2
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
from altor_pipelines.ml.train import full_proba
from altor_pipelines.taxonomy import CAUSES
from altor_pipelines.warehouse.duckdb import connect
from altor_sim.evaluation.classifier import world_go_live
from altor_sim.evaluation.truth import read_truth
from altor_sim.evaluation.zoo_seeds import kept_worlds

# The variants measured in docs/classifier.md ("What the model's top cause would score").
VARIANTS: dict[str, ModelConfig] = {
    "base": ModelConfig(),
    "small_trees": ModelConfig(boost_max_leaf_nodes=7, boost_min_samples_leaf=10),
    "slow": ModelConfig(boost_learning_rate=0.05, boost_iterations=200, boost_max_leaf_nodes=7),
    "lr05": ModelConfig(boost_learning_rate=0.05),
    "linear": ModelConfig(kind="linear"),
}


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


def score_variant(history: Any, after: pl.DataFrame, config: ModelConfig) -> dict[str, Any]:
    X = feature_matrix(history.frame, history.spec)
    y = history.frame[LABEL].to_numpy().astype(object)
    fewest = int(np.unique(y, return_counts=True)[1].min())
    with threadpool_limits(limits=config.threads):
        model = build_classifier(history.spec, config, smallest_class=fewest).fit(X, y)
        proba = full_proba(model, feature_matrix(after, history.spec))
    return top_cause_scores(after["root_cause"].to_numpy().astype(object), proba)


def run_model_ceiling(zoo_dir: Path, variants: list[str], seeds: int = 1,
                      echo: Callable[[str], Any] = print) -> dict[str, Any]:
    """Each variant × seed on each kept world; writes `<zoo_dir>/model_ceiling.json`."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(f"unknown model variants {unknown}: one of {', '.join(VARIANTS)}")
    rows = []
    for name, world_dir, warehouse in kept_worlds(zoo_dir):
        history, after = world_frames(world_dir, warehouse)
        for variant in variants:
            runs = [score_variant(history, after, replace(VARIANTS[variant], seed=s))
                    for s in range(seeds)]
            row = {"world": name, "variant": variant, "tickets": after.height,
                   "macro_f1_by_seed": [r["macro_f1"] for r in runs],
                   "macro_f1": round(statistics.mean(r["macro_f1"] for r in runs), 4),
                   "accuracy": round(statistics.mean(r["accuracy"] for r in runs), 4),
                   "confusion": runs[0]["confusion"]}
            rows.append(row)
            echo(f"{name:<20}{variant:<13} top-cause macro-F1 {row['macro_f1']:.3f} "
                 f"accuracy {row['accuracy']:.3f} (seeds {row['macro_f1_by_seed']})")
    worst = {v: min((r for r in rows if r["variant"] == v), key=lambda r: r["macro_f1"])
             for v in variants} if rows else {}
    for v, r in worst.items():
        echo(f"worst world for {v}: {r['world']} {r['macro_f1']:.3f}")
    table = {"seeds": seeds, "rows": rows,
             "worst": {v: {"world": r["world"], "macro_f1": r["macro_f1"]}
                       for v, r in worst.items()}}
    (Path(zoo_dir) / "model_ceiling.json").write_text(json.dumps(table, indent=2))
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo-dir", type=Path, default=Path("data/zoo"))
    parser.add_argument("--variants", default="base")
    parser.add_argument("--seeds", type=int, default=1)
    args = parser.parse_args(argv)
    run_model_ceiling(args.zoo_dir, args.variants.split(","), args.seeds)


if __name__ == "__main__":
    main()
