"""`altor`: the jobs people run by hand. Each command is a thin shell over package functions.

Exit codes: 0 success; 1 the job failed; 2 bad usage or an unknown object (as shells expect).
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from altor_pipelines.demo.cli import demo_app
from altor_pipelines.reporting.cli import report_command

app = typer.Typer(
    help="Altor pipelines: investigate support tickets with production data.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(demo_app, name="demo")
app.command("report")(report_command)


@app.command("eval")
def eval_command(
    worlds: list[Path] = typer.Option(
        None,
        "--world",
        exists=True,
        file_okay=False,
        help="A world directory in the altor-world/1 format (with --zoo: repeatable, added "
        "to the zoo).",
    ),
    out: Path = typer.Option(None, "--out", help="Also write the result as JSON here."),
    work_dir: Path = typer.Option(
        None, "--work-dir", help="Where to keep the fresh stores (default: a temp dir)."
    ),
    zoo: bool = typer.Option(
        False, "--zoo", help="Generate the zoo of different worlds, evaluate each (plus any "
        "--world, and ../shared/worlds/* beside the project), print the table per world."),
    zoo_dir: Path = typer.Option(
        Path("data/zoo"), "--zoo-dir", help="With --zoo: worlds, logs and zoo.json go here."),
    tiny: bool = typer.Option(False, "--tiny", help="With --zoo: tiny worlds (for tests)."),
    shared: bool = typer.Option(
        True, "--shared/--no-shared", help="With --zoo: include ../shared/worlds/* if present."),
) -> None:
    """Score the pipeline on a world: sync it through the servers, train on the history before
    go-live, diagnose the tickets after it, compare with truth/."""
    from altor_pipelines.evaluation import evaluate_world_dir
    from altor_pipelines.ml.evaluate import format_report

    if zoo:
        from altor_pipelines.demo.zoo import default_extra_worlds, run_zoo

        extra = default_extra_worlds(Path(__file__).resolve().parents[1]) if shared else []
        extra += [w for w in worlds or [] if w.resolve() not in {e.resolve() for e in extra}]
        table = run_zoo(zoo_dir, extra, tiny=tiny, echo=typer.echo)
        if table["failed"]:
            raise typer.Exit(1)
        return
    if not worlds or len(worlds) != 1:
        typer.echo("altor eval: give exactly one --world DIR (or --zoo)", err=True)
        raise typer.Exit(2)
    world = worlds[0]
    typer.echo(f"evaluating {world} …")
    result = evaluate_world_dir(world, out=out, work_dir=work_dir, echo=typer.echo)
    typer.echo(format_report(result))
    typer.echo("\nheuristic rules alone (best rule cause), same tickets:")
    for row in result["heuristics_only"]:
        typer.echo(f"  {row['cause']:<22}" + "".join(
            f"{k} {row[k]:.3f}  " if isinstance(row[k], float) else f"{k} {row[k]}  "
            for k in ("precision", "recall", "f1", "support") if k in row))
    if out:
        typer.echo(f"written: {out}")


@app.command("investigate")
def investigate_command(
    ticket_id: int = typer.Argument(..., help="The help-desk ticket id."),
    as_json: bool = typer.Option(False, "--json", help="Print the diagnosis as JSON."),
) -> None:
    """Investigate one ticket now and print its diagnosis with the evidence."""
    from altor_pipelines.errors import AltorError
    from altor_pipelines.investigate_one import investigate_ticket, render_text
    from altor_pipelines.settings import Settings

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
