"""`altor eval --world`: the terminal gets the stages and the scores; what the libraries log
(dlt's schema warnings, Dagster's events, a stray print) goes to <data dir>/logs/eval.log,
or to the terminal with --verbose (what the zoo's per-world logs use).

The command runs in a process of its own, as a user types it, because the quiet terminal
moves the process's file descriptors. The evaluation itself is replaced by a stand-in that
logs and prints like the libraries do and returns a result: a real one takes minutes and is
the zoo test's (tests/integration/test_zoo.py)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

RESULT = {
    "n_tickets": 3, "macro_f1": 0.5, "delivered_share": 0.67, "delivered_precision": 1.0,
    "per_cause": {"billing_issue": {"precision": 1.0, "recall": 0.5, "f1": 0.667, "support": 2},
                  "novel": {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}},
    "heuristics_only": [{"cause": "billing_issue", "precision": 1.0, "recall": 1.0, "f1": 1.0,
                         "support": 2}],
    "model": {"decided_by": {"model": ["billing_issue"], "rules": []}},
    "warnings": ["delivered share 0.67 is under the floor"],
}

STAND_IN = """
import json, logging, sys
import altor_sim.cli as cli

def evaluate_world_dir(world, out=None, work_dir=None, echo=print):
    echo("  sync zendesk: 1.0 s")
    logging.getLogger("dlt").warning("In schema `zendesk`: columns did not receive any data")
    print("a library's print on stdout")
    print("a library's print on stderr", file=sys.stderr)
    return json.loads(sys.argv[1])

cli.evaluate_world_dir = evaluate_world_dir
cli.eval_app(sys.argv[2:], prog_name="altor eval")
"""


def run_eval(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    world = tmp_path / "world"
    world.mkdir(exist_ok=True)
    env = {**os.environ, "ALTOR_DATA_DIR": str(tmp_path / "data")}
    return subprocess.run(
        [sys.executable, "-c", STAND_IN, json.dumps(RESULT), "--world", str(world), *args],
        env=env, capture_output=True, text=True, timeout=120, check=False)


def test_the_terminal_gets_the_scores_and_the_log_file_the_libraries(tmp_path):
    done = run_eval(tmp_path)
    assert done.returncode == 0, done.stderr
    terminal = done.stdout + done.stderr
    log = (tmp_path / "data" / "logs" / "eval.log").read_text()
    assert f"logs: {tmp_path / 'data' / 'logs' / 'eval.log'}" in terminal
    assert "  sync zendesk: 1.0 s" in terminal
    assert "macro_f1                  0.5" in terminal
    assert "billing_issue              1.000   0.500   0.667        2" in terminal
    assert "decided per cause: model: billing_issue; rules: -" in terminal
    assert "WARNING: delivered share 0.67 is under the floor" in terminal
    for noise in ("did not receive any data", "a library's print on stdout",
                  "a library's print on stderr"):
        assert noise not in terminal
        assert noise in log


def test_verbose_shows_the_libraries_on_the_terminal(tmp_path):
    done = run_eval(tmp_path, "--verbose")
    assert done.returncode == 0, done.stderr
    terminal = done.stdout + done.stderr
    assert "logs: this terminal" in terminal
    assert "did not receive any data" in terminal
    assert "a library's print on stdout" in terminal
    assert "macro_f1                  0.5" in terminal
    assert not (tmp_path / "data" / "logs" / "eval.log").exists()
