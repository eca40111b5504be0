"""`altor report`: write the analysts' HTML report from the warehouse and print its path.

Registered in altor_pipelines/cli.py as `app.command("report")(report_command)`.
Exit codes: 0 written; 1 the warehouse cannot give a report (missing, busy, marts absent);
2 bad usage (no go-live, a go-live that is not a date).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Annotated

import duckdb
import typer

from altor_pipelines.reporting import build_report
from altor_pipelines.settings import Settings

DEFAULT_FILE = "escalation_report.html"


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(f"altor report: {message}", err=True)
    return typer.Exit(code)


def report_command(
    out: Annotated[Path | None, typer.Option(
        "--out", "-o", help="Where to write the HTML file. Default: "
        f"$ALTOR_REPORTS_DIR/{DEFAULT_FILE}.", dir_okay=False)] = None,
    go_live: Annotated[str | None, typer.Option(
        "--go-live", help="When automated diagnoses started (ISO date or time, UTC). "
        "Default: $ALTOR_GO_LIVE.")] = None,
    warehouse: Annotated[Path | None, typer.Option(
        "--warehouse", help="The DuckDB warehouse. Default: $ALTOR_WAREHOUSE_PATH.",
        dir_okay=False)] = None,
    rebuild: Annotated[bool, typer.Option(
        "--rebuild", help="Rebuild the metric marts first (opens the warehouse for writing: "
        "no pipeline run may be writing at the same time).")] = False,
) -> None:
    """Write the escalation report (before/after go-live) as one self-contained HTML page.

    Reads the warehouse read-only, so it can run while the UI is open. With --rebuild it
    rebuilds the metric marts first. Prints the path of the file written.
    """

    settings = Settings.from_env()
    go_live = go_live or settings.go_live
    if not go_live:
        raise _fail("no go-live date: pass --go-live 2026-01-15 or set ALTOR_GO_LIVE.", 2)
    try:
        datetime.fromisoformat(go_live.replace("Z", "+00:00"))
    except ValueError:
        raise _fail(f"--go-live {go_live!r} is not an ISO date or time "
                    "(e.g. 2026-01-15 or 2026-01-15T09:00:00Z).", 2) from None
    path = Path(warehouse or settings.warehouse_path)
    target = Path(out or settings.reports_dir / DEFAULT_FILE)
    if not path.exists():
        raise _fail(f"no warehouse at {path}: run the pipeline first (`altor demo run` for "
                    "the demo).")
    try:
        con = duckdb.connect(str(path), read_only=not rebuild)
    except duckdb.Error as e:
        raise _fail(f"cannot open {path} ({'for writing' if rebuild else 'read-only'}): "
                    f"another process holds it ({e}). Wait for the running pipeline to "
                    "finish and try again.") from None
    try:
        written = build_report(con, target, go_live, rebuild=rebuild)
    except duckdb.Error as e:
        if not rebuild and "read-only" in str(e).lower():
            raise _fail("the metric marts are missing or were built with another go-live; "
                        "run `altor report --rebuild` (it writes the warehouse).") from None
        raise _fail(f"the report could not be built from {path}: {e}") from None
    finally:
        con.close()
    typer.echo(str(written))
