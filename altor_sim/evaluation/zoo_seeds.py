"""`altor eval --zoo --seeds N`: the zoo's figures retrained with N seeds on the stores the last
`--zoo` run kept, to tell a change from the training's own randomness.

With ~1,000 labelled tickets one seed (the folds of the out-of-fold estimates, the trees' random
state) moves a world's macro-F1 by up to ±0.1 (docs/classifier.md, "How much one seed moves a
world"): a whole cause crosses its precision target or not. A change is judged on the mean over
seeds, and the figure is the worst world's mean. Only training and diagnosis run again (about
a minute a world): the synced and investigated warehouse of each world is copied from
`<zoo-dir>/work/<world>/`, so the features are exactly those of the `--zoo` run.
"""

from __future__ import annotations

import json
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from altor_pipelines.ml.train import DEFAULT_TRAIN, TrainConfig
from altor_pipelines.warehouse.duckdb import SQL_DIR, connect
from altor_sim.evaluation.classifier import score_world

FIGURES = ("macro_f1", "delivered_share", "delivered_precision", "ece")


def kept_worlds(zoo_dir: Path) -> list[tuple[str, Path, Path]]:
    """(name, world dir, kept warehouse) of each world the last `--zoo` run in `zoo_dir` scored."""
    table_path = Path(zoo_dir) / "zoo.json"
    if not table_path.is_file():
        raise FileNotFoundError(f"{table_path} not found: run `altor eval --zoo --zoo-dir "
                                f"{zoo_dir}` first (--seeds retrains on the stores it keeps)")
    out = []
    for row in json.loads(table_path.read_text())["worlds"]:
        if "error" in row:
            continue
        warehouse = Path(zoo_dir) / "work" / row["world"] / "warehouse.duckdb"
        if not warehouse.is_file():
            raise FileNotFoundError(f"zoo world {row['world']}: its warehouse {warehouse} is gone")
        out.append((row["world"], Path(row["world_dir"]), warehouse))
    return out


def retrain_world(world_dir: Path, warehouse: Path, work: Path, seed: int,
                  config: TrainConfig = DEFAULT_TRAIN) -> dict[str, Any]:
    """Train and diagnose once with `seed` on a copy of `warehouse` under `work`."""
    if work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True)
    copy = work / "warehouse.duckdb"
    shutil.copyfile(warehouse, copy)
    seeded = replace(config, model=replace(config.model, seed=seed))
    con = connect(copy)
    try:
        result = score_world(con, world_dir, work / "models", SQL_DIR, time.perf_counter(),
                             seeded)
    finally:
        con.close()
    return {"seed": seed, **{k: result[k] for k in FIGURES}, "seconds": result["seconds"]}


def seed_summary(name: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    """One world's row: each seed's macro-F1, their mean, lowest and spread, and the means of
    the other figures."""
    f1 = [r["macro_f1"] for r in runs]
    row: dict[str, Any] = {"world": name, "seeds": [r["seed"] for r in runs],
                           "macro_f1_by_seed": f1, "macro_f1_lowest": min(f1),
                           "macro_f1_spread": round(max(f1) - min(f1), 4)}
    for key in FIGURES:
        row[key] = round(statistics.mean(r[key] for r in runs), 4)
    return row


def format_seed_table(rows: list[dict[str, Any]]) -> str:
    width = max([len(r["world"]) for r in rows] + [12])
    n = max(len(r["seeds"]) for r in rows)
    head = (f"{'world':<{width}}" + "".join(f"{'seed ' + str(s):>9}" for s in range(n))
            + "".join(f"{h:>11}" for h in ("mean F1", "lowest", "spread", "delivered",
                                           "deliv.prec", "ECE")))
    lines = [head, "-" * len(head)]
    for r in rows:
        seeds = "".join(f"{v:>9.3f}" for v in r["macro_f1_by_seed"]) + " " * 9 * (
            n - len(r["macro_f1_by_seed"]))
        lines.append(f"{r['world']:<{width}}{seeds}" + "".join(
            f"{r[k]:>11.3f}" for k in ("macro_f1", "macro_f1_lowest", "macro_f1_spread",
                                       "delivered_share", "delivered_precision", "ece")))
    return "\n".join(lines)


def run_zoo_seeds(zoo_dir: Path, seeds: int, echo: Callable[[str], Any] = print,
                  config: TrainConfig = DEFAULT_TRAIN) -> dict[str, Any]:
    """Retrain every kept zoo world with seeds 0..`seeds`-1; print the table; write
    `<zoo_dir>/zoo_seeds.json`. The worst world is the one with the lowest mean macro-F1."""
    if seeds < 1:
        raise ValueError(f"--seeds must be at least 1, got {seeds}")
    zoo_dir = Path(zoo_dir).resolve()
    rows = []
    for name, world_dir, warehouse in kept_worlds(zoo_dir):
        runs = []
        for seed in range(seeds):
            run = retrain_world(world_dir, warehouse, zoo_dir / "seeds" / name / f"seed{seed}",
                                seed, config)
            echo(f"  {name} seed {seed}: macro-F1 {run['macro_f1']:.3f} "
                 f"({run['seconds']:.0f} s)")
            runs.append(run)
        rows.append(seed_summary(name, runs) | {"runs": runs})
    means = [r["macro_f1"] for r in rows]
    worst = min(rows, key=lambda r: r["macro_f1"]) if rows else None
    table = {"seeds": seeds, "worlds": rows,
             "worst": {"world": worst["world"], "macro_f1": worst["macro_f1"]} if worst else None,
             "median_macro_f1": statistics.median(means) if means else None}
    if rows:
        echo("\n" + format_seed_table(rows))
        echo(f"\nworst world by mean macro-F1: {worst['world']} {worst['macro_f1']:.3f}; "
             f"median {table['median_macro_f1']:.3f}; largest spread between seeds "
             f"{max(r['macro_f1_spread'] for r in rows):.3f}")
    (zoo_dir / "zoo_seeds.json").write_text(json.dumps(table, indent=2) + "\n")
    echo(f"written: {zoo_dir / 'zoo_seeds.json'}")
    return table
