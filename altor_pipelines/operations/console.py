"""What a person sees while a long command runs: progress bars per stage, and every library's
log (Dagster's events, dlt's warnings, chDB) in a file under the data folder instead.

`quiet_terminal(log_path, verbose)` redirects the process's stdout and stderr (file
descriptors 1 and 2, so C extensions are caught too) to the log file and hands back a rich
Console on the real terminal; with `verbose` nothing is redirected and the log file is not
written. `dagster_progress_logger` turns a job's step events into progress-bar advances.
"""

from __future__ import annotations

import io
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
)


@contextmanager
def quiet_terminal(log_path: Path, verbose: bool = False) -> Iterator[Console]:
    """A Console on the terminal; the process's own output goes to `log_path` meanwhile."""
    if verbose:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True)
        yield Console()
        return
    log_path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_out, saved_err = os.dup(1), os.dup(2)
    log_file = open(log_path, "a", buffering=1)  # noqa: SIM115 - closed below
    terminal = io.TextIOWrapper(os.fdopen(os.dup(saved_out), "wb", buffering=0),
                                write_through=True)
    root = logging.getLogger()
    saved_handlers, saved_level = root.handlers[:], root.level
    handler = logging.StreamHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    os.dup2(log_file.fileno(), 1)
    os.dup2(log_file.fileno(), 2)
    try:
        yield Console(file=terminal, force_terminal=None, width=_width(saved_out))
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved_out, 1)
        os.dup2(saved_err, 2)
        os.close(saved_out)
        os.close(saved_err)
        root.handlers[:] = saved_handlers
        root.setLevel(saved_level)
        log_file.close()
        terminal.close()


# Without a terminal (a pipe, a CI log) rich assumes 80 columns and cuts the progress rows'
# counts and times to "…"; a log is read in a wide window.
PIPE_WIDTH = 120


def _width(fd: int) -> int | None:
    """None (rich measures the terminal, or reads COLUMNS) unless `fd` is not a terminal."""
    return None if os.isatty(fd) or os.environ.get("COLUMNS") else PIPE_WIDTH


def stage_progress(console: Console) -> Progress:
    """One bar per stage: its name, done / total, elapsed time, and a note (counts)."""
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(bar_width=30),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[note]}"),
        console=console,
        transient=False,
    )


class _StepHandler(logging.Handler):
    def __init__(self, on_step: Callable[[str, str], None]) -> None:
        super().__init__(level=logging.DEBUG)
        self.on_step = on_step

    def emit(self, record: logging.LogRecord) -> None:
        event = (getattr(record, "dagster_meta", None) or {}).get("dagster_event")
        if event is None:
            return
        kind = event.event_type_value
        if kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
            self.on_step(event.step_key or "", kind)


def dagster_progress_logger(on_step: Callable[[str, str], None]) -> dg.LoggerDefinition:
    """A Dagster logger that calls `on_step(step_key, event_type)` when a step ends."""

    @dg.logger
    def altor_progress(_init_context: Any) -> logging.Logger:
        logger = logging.Logger("altor.progress", level=logging.DEBUG)
        logger.addHandler(_StepHandler(on_step))
        return logger

    return altor_progress
