"""`altor eval --zoo`: the pipeline measured on several deliberately different companies.

Each zoo world is generated with different knobs (generator.WorldParams: vocabulary, services,
where plan limits live, vague tickets, label noise, history length, volume, cause mix, customers
with no traffic), checked against altor-world/1, and evaluated by `altor eval` in its own process
(chDB allows one data directory per process; a process of its own also gives each world its own
peak memory). Worlds passed with `--world` join the table as they are. The figure that counts is
the worst world's.
"""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from altor_sim.world.common import DEFAULT_MIX
from altor_sim.world.generator import WorldParams, generate_world
from altor_sim.world.validate import validate_world

_SMALL = dict(customers=30, days=42, tickets_per_week=200, requests_per_minute=40.0)
_INCIDENT_HEAVY = dict(DEFAULT_MIX, platform_incident=0.16, deploy_regression=0.14, how_to=0.14)
_QUIET_HEAVY = dict(DEFAULT_MIX, how_to=0.32, misrouted=0.12, novel=0.1, known_bug=0.05)

# Six companies that differ along every knob; sized so the zoo evaluates in ~15 minutes on 2 cores.
ZOO: tuple[WorldParams, ...] = (
    WorldParams(name="zoo-plain", seed=101, **_SMALL),
    WorldParams(name="zoo-rest-v2", seed=102, vocabulary="v2", services=4,
                plan_limits_in="price", vague_share=0.5, label_noise=0.05,
                **dict(_SMALL, customers=25, tickets_per_week=150)),
    WorldParams(name="zoo-rpc", seed=103, vocabulary="rpc", services=3,
                plan_limits_in="product", label_noise=0.2, cause_mix=_INCIDENT_HEAVY,
                **dict(_SMALL, customers=35, requests_per_minute=30.0)),
    WorldParams(name="zoo-short-busy", seed=104, history_weeks=4, services=7,
                silent_customers=0.15, **dict(_SMALL, days=35, tickets_per_week=250)),
    WorldParams(name="zoo-long-quiet", seed=105, vocabulary="v2", history_weeks=8,
                vague_share=0.8, cause_mix=_QUIET_HEAVY,
                **dict(_SMALL, customers=20, days=70, tickets_per_week=100,
                       requests_per_minute=25.0)),
    WorldParams(name="zoo-many-services", seed=106, vocabulary="rpc", services=8,
                plan_limits_in="price", silent_customers=0.25, label_noise=0.15,
                vague_share=0.3, **dict(_SMALL, customers=40, tickets_per_week=180)),
)
# A tiny zoo for the tests: the same knobs, a fraction of the size.
TINY = dict(customers=10, days=14, tickets_per_week=120, requests_per_minute=8.0)

COLUMNS = (
    ("macro_f1", "macro-F1"),
    ("delivered_share", "delivered"),
    ("delivered_precision", "deliv.prec"),
    ("system_access_diagnosed", "sys-access"),
    ("novel_escalated_recall", "novel rec"),
    ("ece", "ECE"),
    ("rules_macro_f1", "rules F1"),
    ("seconds", "seconds"),
    ("peak_mb", "peak MB"),
)
# Higher is better for these; ECE, seconds and peak memory are worse when higher.
LOWER_IS_BETTER = frozenset({"ece", "seconds", "peak_mb"})


def zoo_params(tiny: bool = False, names: list[str] | None = None) -> list[WorldParams]:
    """The zoo's worlds (tiny: the same knobs at a fraction of the size); `names` picks some."""
    chosen = [p for p in ZOO if not names or p.name in names]
    missing = set(names or ()) - {p.name for p in chosen}
    if missing:
        raise ValueError(f"no zoo world named {sorted(missing)}; the zoo: "
                         f"{', '.join(p.name for p in ZOO)}")
    if not tiny:
        return chosen
    return [replace(p, **TINY, history_weeks=1 if p.history_weeks else None) for p in chosen]


def default_extra_worlds(project_root: Path) -> list[Path]:
    """Worlds made elsewhere that sit beside the project (../shared/worlds/*), if any."""
    shared = project_root.parent / "shared" / "worlds"
    if not shared.is_dir():
        return []
    return sorted(p for p in shared.iterdir() if (p / "world.json").is_file())


def evaluate_in_process_of_its_own(world: Path, out_json: Path, log: Path,
                                   work_dir: Path | None = None) -> dict[str, Any]:
    """Run `altor eval --world` in a child process; return its JSON plus the child's peak RSS."""
    # --verbose: the libraries' logs go to this world's log with the rest, not to eval.log
    cmd = [sys.executable, "-m", "altor_pipelines.cli", "eval", "--world", str(world),
           "--out", str(out_json), "--verbose"]
    if work_dir is not None:
        cmd += ["--work-dir", str(work_dir)]
    started = time.perf_counter()
    with log.open("w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.read_text().splitlines()[-15:]
        raise RuntimeError(f"altor eval --world {world} failed (exit {proc.returncode}); "
                           f"log {log}:\n" + "\n".join(tail))
    result = json.loads(out_json.read_text())
    result["peak_mb"] = round(usage.ru_maxrss / 1024, 1)  # Linux: kilobytes
    result["wall_seconds"] = round(time.perf_counter() - started, 1)
    return result


def summary_row(name: str, result: dict[str, Any]) -> dict[str, Any]:
    rules = {r["cause"]: r for r in result.get("heuristics_only", [])}
    row = {"world": name}
    for key, _ in COLUMNS:
        row[key] = (rules["macro"]["f1"] if key == "rules_macro_f1" and "macro" in rules
                    else result.get(key))
    row["n_tickets"] = result.get("n_tickets")
    row["rules_f1"] = {c: round(r["f1"], 3) for c, r in rules.items()}
    row["model_f1"] = {c: round(v["f1"], 3) for c, v in result.get("per_cause", {}).items()}
    return row


def worst_and_median(rows: list[dict[str, Any]]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Per column the worst world's value (lowest; highest for ECE, seconds, memory) and the
    median; per cause the worst rules-alone F1."""
    worst: dict[str, Any] = {"world": "worst"}
    median: dict[str, Any] = {"world": "median"}
    for key, _ in COLUMNS:
        values = [r[key] for r in rows if isinstance(r.get(key), int | float)]
        if not values:
            worst[key] = median[key] = None
            continue
        worst[key] = max(values) if key in LOWER_IS_BETTER else min(values)
        median[key] = statistics.median(values)
    causes = sorted({c for r in rows for c in r.get("rules_f1", {})})
    worst["rules_f1"] = {c: min(r["rules_f1"][c] for r in rows if c in r["rules_f1"])
                         for c in causes}
    return worst, median


def format_table(rows: list[dict[str, Any]]) -> str:
    width = max([len(r["world"]) for r in rows] + [12])
    head = f"{'world':<{width}}" + "".join(f"{label:>11}" for _, label in COLUMNS)
    lines = [head, "-" * len(head)]
    for r in rows:
        cells = []
        for key, _ in COLUMNS:
            v = r.get(key)
            cells.append(f"{'-':>11}" if v is None else
                         f"{v:>11.1f}" if key in ("seconds", "peak_mb") else f"{v:>11.3f}")
        lines.append(f"{r['world']:<{width}}" + "".join(cells))
    return "\n".join(lines)


def format_rules_table(rows: list[dict[str, Any]]) -> str:
    causes = [c for c in rows[0].get("rules_f1", {}) if c != "macro"] if rows else []
    width = max([len(r["world"]) for r in rows] + [12])
    head = f"{'rules F1':<{width}}" + "".join(f"{c[:10]:>11}" for c in causes)
    lines = [head]
    for r in rows:
        f1 = r.get("rules_f1", {})
        lines.append(f"{r['world']:<{width}}" + "".join(
            f"{f1[c]:>11.3f}" if c in f1 else f"{'-':>11}" for c in causes))
    return "\n".join(lines)


def run_zoo(out_dir: Path, extra_worlds: list[Path] = (), tiny: bool = False,
            echo: Callable[[str], Any] = print,
            names: list[str] | None = None) -> dict[str, Any]:
    """Generate and validate the zoo's worlds under `out_dir/worlds`, evaluate each (and each
    extra world) in a process of its own, print the table, write `out_dir/zoo.json`."""
    out_dir = Path(out_dir).resolve()
    (out_dir / "worlds").mkdir(parents=True, exist_ok=True)
    (out_dir / "results").mkdir(parents=True, exist_ok=True)
    worlds: list[tuple[str, Path, dict[str, Any]]] = []
    for params in zoo_params(tiny, names):
        path = out_dir / "worlds" / params.name
        echo(generate_world(path, params))
        counts = validate_world(path)
        echo(f"  valid altor-world/1: {counts['truth/tickets']} tickets, "
             f"{counts['clickhouse/requests']:,} request rows; knobs {params.knobs()}")
        worlds.append((params.name, path, params.knobs()))
    for extra in extra_worlds:
        extra = Path(extra).resolve()
        worlds.append((extra.name, extra, {}))
    rows = []
    for name, path, knobs in worlds:
        echo(f"evaluating {name} ({path}) …")
        # Fresh stores each time, kept afterwards so that rules can be re-run on them.
        work = out_dir / "work" / name
        if work.exists():
            shutil.rmtree(work)
        try:
            result = evaluate_in_process_of_its_own(
                path, out_dir / "results" / f"{name}.json", out_dir / "results" / f"{name}.log",
                work_dir=work)
        except RuntimeError as exc:  # one broken world must not hide the others' figures
            echo(f"  FAILED: {exc}")
            rows.append({"world": name, "error": str(exc), "knobs": knobs,
                         "world_dir": str(path)})
            continue
        row = summary_row(name, result)
        row["knobs"] = knobs
        row["world_dir"] = str(path)
        rows.append(row)
        echo(f"  macro-F1 {row['macro_f1']:.3f}, rules {row['rules_macro_f1']:.3f}, "
             f"{row['seconds']:.0f} s, peak {row['peak_mb']:.0f} MB")
    scored = [r for r in rows if "error" not in r]
    failed = [r["world"] for r in rows if "error" in r]
    worst, median = worst_and_median(scored)
    if scored:
        echo("\n" + format_table(scored + [worst, median]))
        echo("\n" + format_rules_table(scored + [worst]))
    if failed:
        echo(f"\nFAILED worlds (no figures): {', '.join(failed)}")
    table = {"worlds": rows, "worst": worst, "median": median, "failed": failed}
    (out_dir / "zoo.json").write_text(json.dumps(table, indent=2, default=str) + "\n")
    echo(f"\nwritten: {out_dir / 'zoo.json'}")
    return table
