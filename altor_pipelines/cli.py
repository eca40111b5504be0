"""`altor`: the jobs people run by hand. Each command is a thin shell over package functions.

Exit codes: 0 success; 1 the job failed; 2 bad usage or an unknown object (as shells expect).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from altor_pipelines.clock import parse_time
from altor_pipelines.errors import AltorError, SettingsError
from altor_pipelines.investigation.one_ticket import investigate_ticket, render_text
from altor_pipelines.operations.backtest import run_backtest, write_outputs
from altor_pipelines.operations.console import quiet_terminal, stage_progress
from altor_pipelines.operations.doctor import FAIL, OK, failed, run_doctor
from altor_pipelines.operations.run import (
    ensure_dagster_home,
    failure_lines,
    run_batch,
    stage_named,
    step_count,
)
from altor_pipelines.reporting.cli import report_command
from altor_pipelines.reporting.summary import settings_summary_tables
from altor_pipelines.settings import Settings

app = typer.Typer(
    help="Altor pipelines: investigate support tickets with production data.",
    no_args_is_help=True,
    add_completion=False,
)
app.command("report")(report_command)


# The simulated company (`altor_sim`) is not part of the product: its two commands stay on this
# command line, but the simulation is imported only when one of them runs, and it parses its own
# arguments (`altor demo --help`, `altor eval --help`).
_HANDED_ON = {"allow_extra_args": True, "ignore_unknown_options": True}


@app.command("demo", context_settings=_HANDED_ON, add_help_option=False)
def demo_command(ctx: typer.Context) -> None:
    """The simulated company: generate, serve and run it (`altor demo --help`)."""
    from altor_sim.cli import demo_app

    demo_app(ctx.args, prog_name="altor demo")


@app.command("eval", context_settings=_HANDED_ON, add_help_option=False)
def eval_command(ctx: typer.Context) -> None:
    """Score the pipeline on a simulated world against its truth (`altor eval --help`)."""
    from altor_sim.cli import eval_app

    eval_app(ctx.args, prog_name="altor eval")


@app.command("investigate")
def investigate_command(
    ticket_id: int = typer.Argument(..., help="The help-desk ticket id."),
    as_json: bool = typer.Option(False, "--json", help="Print the diagnosis as JSON."),
) -> None:
    """Investigate one ticket now and print its diagnosis with the evidence."""
    try:
        result = investigate_ticket(Settings.from_env(), ticket_id)
    except LookupError as exc:
        typer.echo(f"altor investigate: {exc}", err=True)
        raise typer.Exit(2) from None
    except AltorError as exc:
        typer.echo(f"altor investigate: {exc}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(result, indent=2, default=str) if as_json else render_text(result))


@app.command("doctor")
def doctor_command(
    timeout: float = typer.Option(10.0, help="Seconds to wait for each system's answer."),
) -> None:
    """Check every configured system (Zendesk, Stripe, Linear, GitHub, ClickHouse): reachable,
    credentials accepted, the access the pipeline needs, the root-cause field and the
    request-log table. Exit status 1 when anything failed. No secret is printed."""
    rows = run_doctor(timeout=timeout)
    table = Table(title="altor doctor", show_lines=False)
    for column in ("system", "check", "status", "found", "how to fix"):
        table.add_column(column, overflow="fold")
    colour = {OK: "green", FAIL: "bold red"}
    for r in rows:
        table.add_row(r.system, r.check, f"[{colour.get(r.status, 'yellow')}]{r.status}[/]",
                      r.detail, r.fix)
    console = Console(width=max(120, Console().width))
    console.print(table)
    bad = [r for r in rows if r.status == FAIL]
    if failed(rows):
        console.print(f"{len(bad)} check(s) failed.")
        raise typer.Exit(1)
    console.print("every check passed: `altor run` is next.")


@app.command("run")
def run_command(
    until: str = typer.Option(
        None, "--until", help="Stop after this stage: ingest, staging, features, diagnosis, "
        "metrics (marts, report)."),
    verbose: bool = typer.Option(False, "--verbose", help="Show Dagster's and dlt's logs."),
) -> None:
    """Run the batch pipeline against the configured systems (the `batch_pipeline` job the UI
    runs, in this process): sync, investigate, diagnose, measure. Logs go to
    <data dir>/logs/run.log. Exit status 1 when a step or an asset check failed."""
    settings = Settings.from_env()
    if until is not None:
        try:
            stage_named(until)
        except ValueError as exc:
            typer.echo(f"altor run: {exc}", err=True)
            raise typer.Exit(2) from None
    ensure_dagster_home()
    log_path = settings.data_dir / "logs" / "run.log"
    with quiet_terminal(log_path, verbose) as console:
        total = step_count(until)
        with stage_progress(console) as progress:
            task = progress.add_task("batch_pipeline" + (f" until {until}" if until else ""),
                                     total=total, note="")

            def on_step(step: str, kind: str) -> None:
                progress.update(task, advance=1, note=step.replace("__", ".")[:40])

            outcome = run_batch(until, on_step=on_step)
            progress.update(task, completed=total, note="done" if outcome.success else "FAILED")
        for table in settings_summary_tables(settings):
            console.print(table)
        for line in failure_lines(outcome):
            console.print(f"[red]{line}[/]")
        console.print(f"run {outcome.run_id} in {outcome.seconds:.0f} s; logs: {log_path}")
    if not outcome.success or outcome.failed_checks:
        raise typer.Exit(1)


@app.command("backtest")
def backtest_command(
    start: str = typer.Option(..., "--start", help="The window's start (ISO time, UTC)."),
    end: str = typer.Option(None, "--end", help="The window's end (default: start + 14 days)."),
    out: Path = typer.Option(None, "--out", help="Folder for backtest.json and backtest.html "
                             "(default: the reports folder)."),
) -> None:
    """Before switching anything on: train only on what was known before a window, diagnose
    every ticket of the window at its creation time, and report per cause what would have been
    delivered, its agreement with the recorded cause and the escalations it would have made
    avoidable, with 95% intervals. Reads the configured warehouse; never writes it."""
    settings = Settings.from_env()
    try:
        begin = parse_time(start)
        finish = parse_time(end) if end else begin + timedelta(days=14)
    except ValueError:
        typer.echo("altor backtest: --start and --end must be ISO times", err=True)
        raise typer.Exit(2) from None
    if not settings.warehouse_path.exists():
        typer.echo(f"altor backtest: no warehouse at {settings.warehouse_path} "
                   "(run `altor run` first)", err=True)
        raise typer.Exit(2)
    result = run_backtest(settings, begin, finish)
    json_path, html_path = write_outputs(result, out or settings.reports_dir)
    o = result["overall"]
    typer.echo(f"{o['tickets']:,} tickets in the window; {o['delivered']:,} diagnoses would "
               f"have been delivered; agreement with the recorded cause "
               f"{(o['agreement'] or 0):.1%}; {o['avoidable']:,} of {o['escalated']:,} "
               f"escalations avoidable")
    for cause, d in result["per_cause"].items():
        agree = "–" if d["agreement"] is None else f"{d['agreement']:.0%}"
        typer.echo(f"  {cause:<22} delivered {d['delivered']:>5,}  agreement {agree:>4} "
                   f"of {d['with_recorded']:>5,}  avoidable escalations {d['avoidable']:>4,}")
    typer.echo(f"written: {json_path}, {html_path}")


def main() -> None:
    """The `altor` entry point: the commands, with the project's own errors (bad settings, a
    vendor that refused) as one line on stderr instead of a traceback."""
    try:
        app(standalone_mode=True)
    except SettingsError as exc:
        typer.echo(f"altor: setting {exc}", err=True)
        raise SystemExit(2) from None
    except AltorError as exc:
        typer.echo(f"altor: {exc}", err=True)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
