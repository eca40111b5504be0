"""`altor`: the jobs people run by hand. Each command is a thin shell over package functions.

Exit codes: 0 success; 1 the job failed; 2 bad usage or an unknown object (as shells expect).
"""

from __future__ import annotations

import json

import typer

from altor_pipelines.errors import AltorError
from altor_pipelines.investigation.one_ticket import investigate_ticket, render_text
from altor_pipelines.reporting.cli import report_command
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


if __name__ == "__main__":
    app()
