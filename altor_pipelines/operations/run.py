"""`altor run`: the batch pipeline against the configured systems, from the command line.

The same job the UI runs (`batch_pipeline`: sync, investigate, diagnose, measure; no help-desk
write-back), executed in this process through Dagster and recorded in DAGSTER_HOME's instance,
so the UI shows the run afterwards. `until` stops after a stage: the assets of the stages up to
it (ingest → staging → features → diagnosis → metrics), with their checks.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dagster as dg
from dagster._loggers import colored_console_logger

from altor_pipelines.definitions import defs
from altor_pipelines.operations.console import dagster_progress_logger
from altor_pipelines.settings import PROJECT_ROOT, Settings

STAGES = ("ingest", "staging", "features", "diagnosis", "metrics")
STAGE_ALIASES = {"marts": "metrics", "report": "metrics", "sync": "ingest",
                 "investigation": "features"}
JOB = "batch_pipeline"


@dataclass
class RunOutcome:
    success: bool
    run_id: str
    steps: dict[str, str] = field(default_factory=dict)  # step key -> STEP_SUCCESS / ...
    failed_checks: list[str] = field(default_factory=list)
    seconds: float = 0.0
    warned_checks: list[str] = field(default_factory=list)
    # check name -> what its evaluation said (the first clause, for one line on the terminal)
    check_notes: dict[str, str] = field(default_factory=dict)


def stage_named(name: str) -> str:
    stage = STAGE_ALIASES.get(name.lower(), name.lower())
    if stage not in STAGES:
        raise ValueError(
            f"unknown stage {name!r}: one of {', '.join(STAGES)} (or marts, report, sync)")
    return stage


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME (default data/dagster_home) with the project's instance settings."""
    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "data" / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    return home


def planned_steps(until: str | None = None) -> tuple[dg.JobDefinition, list[dg.AssetKey]]:
    """The batch job and the asset keys it will materialise (every one when `until` is None)."""

    loaded = defs()
    job = loaded.resolve_job_def(JOB)
    graph = loaded.resolve_asset_graph()
    wanted = set(STAGES[: STAGES.index(stage_named(until)) + 1]) if until else set(STAGES)
    keys = [k for k in job.asset_layer.executable_asset_keys
            if graph.get(k).group_name in wanted]
    return job, sorted(keys, key=lambda k: k.to_user_string())


def run_batch(
    until: str | None = None,
    on_step: Callable[[str, str], None] | None = None,
    tags: dict[str, str] | None = None,
) -> RunOutcome:
    """Run the batch job (or its stages up to `until`) in process. `on_step(step_key, event)`
    when a step ends. Settings are read (and checked) before anything runs."""
    Settings.from_env()  # bad settings: one line naming the variable, before any work
    started = time.perf_counter()
    job, keys = planned_steps(until)
    steps: dict[str, str] = {}

    def record(step: str, kind: str) -> None:
        steps[step] = kind
        if on_step is not None:
            on_step(step, kind)

    job = job.with_logger_defs({"console": colored_console_logger,
                                "altor_progress": dagster_progress_logger(record)})
    result = job.execute_in_process(
        instance=dg.DagsterInstance.get(),
        asset_selection=None if until is None else keys,
        run_config={"loggers": {"console": {"config": {"log_level": "DEBUG"}},
                                "altor_progress": {}}},
        tags={"altor/pipeline": "cli", **(tags or {})},
        raise_on_error=False,
    )
    # only ERROR-severity checks fail the run; WARN ones are reported as warnings
    failed_checks, warned_checks, notes = [], [], {}
    for e in result.all_events:
        if e.event_type_value != "ASSET_CHECK_EVALUATION":
            continue
        data = e.asset_check_evaluation_data
        if data.passed:
            continue
        name = f"{data.asset_key.to_user_string()}:{data.check_name}"
        notes[name] = first_clause(data.description or "")
        if data.severity == dg.AssetCheckSeverity.ERROR:
            failed_checks.append(name)
        else:
            warned_checks.append(name)
    return RunOutcome(result.success, result.run_id, steps, failed_checks,
                      time.perf_counter() - started, warned_checks, notes)


def first_clause(text: str, limit: int = 100) -> str:
    """A check's description up to its first colon or full stop, cut at `limit` characters
    (the whole text is in the run's events and the log file)."""
    head = text.split(": ", 1)[0].split(". ", 1)[0].strip()
    return head if len(head) <= limit else head[: limit - 1] + "…"


def step_count(until: str | None = None) -> int:
    """How many steps the run will have (for a progress bar): one per asset and per check."""
    job, keys = planned_steps(until)
    wanted = set(keys)
    checks = [c for c in job.asset_layer.asset_graph.asset_check_keys if c.asset_key in wanted]
    return len(wanted) + len(checks)


def failure_lines(outcome: RunOutcome, result_hint: Any = None) -> list[str]:
    """What failed, one line each (steps, then checks)."""
    said = {c: f" ({n})" for c, n in outcome.check_notes.items() if n}
    lines = [f"step {s} failed" for s, k in outcome.steps.items() if k == "STEP_FAILURE"]
    lines += [f"check {c} failed{said.get(c, '')}" for c in outcome.failed_checks]
    lines += [f"warning: check {c} did not pass{said.get(c, '')}" for c in outcome.warned_checks]
    return lines
