"""What the per-cause decision could deliver on each zoo world with the *same* model: the
pipeline's decisions against variants that know more (the help desk's true recording-error
rates, read from `truth/`), ask less (a lower precision target, or the top cause always) or
more (a higher target), or smooth each cause's estimate harder.

The served classifier is trained once per world and seed (seed 0 reproduces `altor eval
--zoo`), then each variant's policy is chosen on the same out-of-fold probabilities and applied
to the same tickets after go-live. One seed moves a world by up to 0.1 (docs/classifier.md), so
`--seeds N` trains with seeds 0..N-1 and the figure is each world's mean over them. If the
variants with the true error rates meet the precision target but score a lower macro-F1, the
decision is not what holds a world back: the model is (its probabilities do not separate right
from wrong well enough at 0.95). Reads the warehouses a `--zoo` run kept, read-only, like
`model_ceiling`.

    python -m altor_sim.evaluation.decision_frontier --zoo-dir data/zoo --seeds 3
"""

from __future__ import annotations

import argparse
import json
import statistics
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from altor_pipelines.ml.baselines import rule_causes
from altor_pipelines.ml.dataset import KEY, feature_matrix
from altor_pipelines.ml.decision import DecisionConfig, DecisionPolicy, choose_policy
from altor_pipelines.ml.evaluate import score_diagnoses
from altor_pipelines.ml.train import DEFAULT_TRAIN, full_proba, train_triage_model
from altor_pipelines.taxonomy import CAUSES, action_for
from altor_sim.evaluation.model_ceiling import world_frames
from altor_sim.evaluation.truth import true_causes
from altor_sim.evaluation.zoo_seeds import kept_worlds

VARIANTS = ("pipeline", "pooled_rate", "true_rates", "true_pooled_rate", "target_0.90",
            "target_0.97", "prior_20", "top_cause")
FIGURES = ("macro_f1", "delivered_precision", "delivered_share")


def true_recording_error_rates(recorded: np.ndarray, truth: np.ndarray
                               ) -> tuple[float, dict[str, float]]:
    """(overall, per true cause) share of tickets whose recorded cause is not the true one:
    the η the decision estimates (decision.py), measured."""
    wrong = recorded != truth
    per = {c: float(wrong[truth == c].mean()) if (truth == c).any() else 0.0 for c in CAUSES}
    return float(wrong.mean()), per


def policies(result: Any, recorded: np.ndarray, rules: np.ndarray, truth: np.ndarray
             ) -> dict[str, DecisionPolicy]:
    """Each variant's policy, chosen on the history's out-of-fold probabilities."""
    p = result.proba["valid_recorded"]
    rec = np.array([CAUSES.index(c) for c in recorded])
    classes = list(CAUSES)
    noise = result.noise
    rate = noise.recording_error_rate if noise else 0.0
    rates = noise.recording_error_rates if noise else None
    true_rate, true_rates = true_recording_error_rates(recorded, truth)
    config = result.config.decision

    def chosen(error_rate: float, per_cause: dict[str, float] | None,
               cfg: DecisionConfig = config) -> DecisionPolicy:
        return choose_policy(p, rec, rules, classes, error_rate, cfg, per_cause)

    return {
        "pipeline": result.policy,
        "pooled_rate": chosen(rate, None),
        # the true rates as they are: the floor guards against an estimate's noise
        "true_rates": chosen(true_rate, true_rates, replace(config, rates_at_least_overall=False)),
        "true_pooled_rate": chosen(true_rate, None),
        "target_0.90": chosen(rate, rates, replace(config, target_precision=0.90)),
        "target_0.97": chosen(rate, rates, replace(config, target_precision=0.97)),
        # each cause's agreement shrunk toward the pooled one by 20 pseudo-tickets, not 5
        "prior_20": chosen(rate, rates, replace(config, prior_strength=20.0)),
        "top_cause": chosen(rate, rates, replace(config, target_precision=0.0,
                                                 min_delivered=0)),
    }


def score_policy(policy: DecisionPolicy, proba: np.ndarray, rules: np.ndarray,
                 truth: np.ndarray) -> dict[str, Any]:
    d = policy.apply(proba, rules)
    names = np.array(CAUSES, dtype=object)
    cause = [names[c] if c >= 0 else None for c in d.cause]
    s = score_diagnoses(list(truth), cause, list(names[d.top]), d.top_probability,
                        [action_for(c) == "escalate" for c in cause])
    return {k: round(float(s[k]), 4) for k in FIGURES}


def world_frontier(world_dir: Path, warehouse: Path, seeds: Sequence[int] = (0,)
                   ) -> dict[str, Any]:
    """One world: the served model trained once per seed, every variant scored after go-live,
    averaged over the seeds (`mean_over_seeds`). The world is read once for all seeds."""
    history, after = world_frames(world_dir, warehouse)
    truth_by_id = true_causes(world_dir)
    return mean_over_seeds([_seed_frontier(history, after, truth_by_id, s) for s in seeds])


def _seed_frontier(history: Any, after: pl.DataFrame, truth_by_id: dict[int, str], seed: int
                   ) -> dict[str, Any]:
    config = replace(DEFAULT_TRAIN, model=replace(DEFAULT_TRAIN.model, seed=seed))
    result = train_triage_model(history, config)
    hist = pl.concat([result.split.train, result.split.valid])
    hist_truth = np.array([truth_by_id[t] for t in hist[KEY].to_list()], dtype=object)
    recorded = result.labels["valid_recorded"]
    chosen = policies(result, recorded, rule_causes(hist, history.spec), hist_truth)
    proba = full_proba(result.model, feature_matrix(after, history.spec),
                       result.calibration["temperature"])
    rules_after = rule_causes(after, history.spec)
    truth_after = after["root_cause"].to_numpy().astype(object)
    true_rate, _ = true_recording_error_rates(recorded, hist_truth)
    estimated_rate = result.calibration["recording_error_rate"]
    variants = {v: {**score_policy(policy, proba, rules_after, truth_after),
                    "abstained_causes": policy.by("abstain")}
                for v, policy in chosen.items()}
    return {"tickets": after.height, "variants": variants,
            "recording_error_rate": {"estimated": round(estimated_rate, 4),
                                     "true": round(true_rate, 4)}}


def mean_over_seeds(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One world's row from its per-seed rows: each variant's figures averaged over the seeds,
    with macro-F1 per seed and every cause abstained on in any seed."""
    variants = {}
    for v in runs[0]["variants"]:
        per = [r["variants"][v] for r in runs]
        variants[v] = {**{k: round(statistics.mean(p[k] for p in per), 4) for k in FIGURES},
                       "macro_f1_by_seed": [p["macro_f1"] for p in per],
                       "abstained_causes": sorted({c for p in per
                                                   for c in p["abstained_causes"]})}
    return {"tickets": runs[0]["tickets"], "variants": variants,
            "recording_error_rate": runs[0]["recording_error_rate"],
            "by_seed": runs}


def run_decision_frontier(zoo_dir: Path, seeds: Sequence[int] = (0,),
                          echo: Callable[[str], Any] = print) -> dict[str, Any]:
    """Every kept world, trained once per seed; prints a line per world and variant (means over
    the seeds) and the worst/median world per variant, and writes
    `<zoo_dir>/decision_frontier.json`."""
    seeds = list(seeds)
    if not seeds:
        raise ValueError("decision_frontier needs at least one seed")
    worlds = {}
    for name, world_dir, warehouse in kept_worlds(zoo_dir):
        row = world_frontier(world_dir, warehouse, seeds)
        worlds[name] = row
        for v, s in row["variants"].items():
            by_seed = " / ".join(f"{f:.3f}" for f in s["macro_f1_by_seed"])
            echo(f"{name:<20}{v:<18} macro-F1 {s['macro_f1']:.3f} ({by_seed})  delivered "
                 f"precision {s['delivered_precision']:.3f}  share {s['delivered_share']:.3f}")
    summary = {}
    for v in VARIANTS:
        f1 = {n: w["variants"][v]["macro_f1"] for n, w in worlds.items()}
        prec = [w["variants"][v]["delivered_precision"] for w in worlds.values()]
        if not f1:
            continue
        worst = min(f1, key=f1.get)
        summary[v] = {"worst_world": worst, "worst_macro_f1": f1[worst],
                      "median_macro_f1": round(statistics.median(f1.values()), 4),
                      "lowest_delivered_precision": min(prec)}
        echo(f"{v:<18} worst macro-F1 {f1[worst]:.3f} ({worst}), median "
             f"{summary[v]['median_macro_f1']:.3f}, lowest delivered precision {min(prec):.3f}")
    table = {"seeds": seeds, "worlds": worlds, "summary": summary}
    (Path(zoo_dir) / "decision_frontier.json").write_text(json.dumps(table, indent=2))
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--zoo-dir", type=Path, default=Path("data/zoo"))
    parser.add_argument("--seeds", type=int, default=1,
                        help="train each world with seeds 0..N-1; figures are their means")
    args = parser.parse_args(argv)
    run_decision_frontier(args.zoo_dir, range(args.seeds))


if __name__ == "__main__":
    main()
