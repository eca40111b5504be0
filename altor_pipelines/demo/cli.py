"""`altor demo …`: make a world, serve it, run the whole pipeline on it."""

from __future__ import annotations

from pathlib import Path

import typer

demo_app = typer.Typer(
    help="The simulated company: generate, serve and run it.", no_args_is_help=True
)


@demo_app.command("generate")
def generate(
    out: Path = typer.Option(Path("data/worlds/demo"), help="Directory to write the world to."),
    seed: int = typer.Option(7, help="Same seed and parameters give byte-identical output."),
    customers: int = typer.Option(60, help="Number of customer organizations."),
    days: int = typer.Option(92, help="Length of the recorded history in days."),
    tickets_per_week: int = typer.Option(400, help="Help-desk tickets per week."),
    requests_per_minute: float = typer.Option(
        120.0, help="Platform-wide API requests per minute (before episodes)."
    ),
) -> None:
    """Generate a world in the altor-world/1 format (shared WORLD-FORMAT.md)."""
    from altor_pipelines.demo.generator import WorldParams, generate_world

    params = WorldParams(
        seed=seed,
        customers=customers,
        days=days,
        tickets_per_week=tickets_per_week,
        requests_per_minute=requests_per_minute,
    )
    summary = generate_world(out, params)
    typer.echo(summary)


@demo_app.command("serve")
def serve(
    world: Path = typer.Option(..., "--world", help="A world directory (altor-world/1)."),
    as_of: str = typer.Option(
        None, "--as-of", help="Serve the world as it stood at this UTC time."
    ),
) -> None:
    """Serve a world through the vendors' APIs on loopback until Ctrl-C or SIGTERM.

    The first line printed is one JSON object with each vendor's base URL and token.
    """
    from altor_pipelines.demo.servers import serve_forever

    serve_forever(world, as_of=as_of)


@demo_app.command("run")
def run(
    world: Path | None = typer.Option(
        None, help="Where the demo world lives (default: <data dir>/worlds/demo)."),
    data_dir: Path | None = typer.Option(
        None, help="Warehouse, ClickHouse and state folder (default: ALTOR_DATA_DIR, else data)."),
    seed: int = typer.Option(7, help="Seed of the demo world."),
    customers: int = typer.Option(60, help="Customer organizations."),
    days: int = typer.Option(92, help="Days of history."),
    tickets_per_week: int = typer.Option(400, help="Help-desk tickets per week."),
    requests_per_minute: float = typer.Option(120.0, help="Platform-wide API requests/minute."),
    live_days: float = typer.Option(
        2.0, help="Days of the world after go-live run on the live path, ticket by ticket: "
        "new tickets arrive, notes are written, simulated agents act on them."),
    verbose: bool = typer.Option(False, "--verbose", help="Show Dagster's and dlt's logs "
                                 "instead of writing them to <data dir>/logs/demo.log."),
) -> None:
    """Generate the demo company (once), serve it, run the history and the weeks after
    go-live, and print a short summary with where the report, UI and warehouse are."""
    from rich.table import Table

    from altor_pipelines.demo.generator import WorldParams
    from altor_pipelines.demo.run import run_demo
    from altor_pipelines.operations.console import quiet_terminal, stage_progress
    from altor_pipelines.operations.run import failure_lines
    from altor_pipelines.reporting.summary import summary_tables
    from altor_pipelines.settings import Settings

    data_dir = (data_dir or Settings.from_env().data_dir).resolve()
    world = (world or data_dir / "worlds" / "demo").resolve()
    params = WorldParams(
        seed=seed,
        customers=customers,
        days=days,
        tickets_per_week=tickets_per_week,
        requests_per_minute=requests_per_minute,
    )
    log_path = data_dir / "logs" / "demo.log"
    with quiet_terminal(log_path, verbose) as console:
        console.print(f"[bold]Altor demo[/]: a simulated company, its history, then "
                      f"{live_days:g} days after go-live. Logs: {log_path}")
        with stage_progress(console) as progress:
            out = run_demo(world, data_dir, params, live_days, console, progress)
        batch = out["batch"]
        if not batch.success:
            console.print(f"[red]the batch pipeline failed[/] (run {batch.run_id}); see {log_path}")
        for line in failure_lines(batch):
            console.print(f"[red]{line}[/]")
        for table in summary_tables(Path(out.get("warehouse", "")), out.get("go_live")):
            console.print(table)
        live = out.get("live")
        where = Table(show_header=False, box=None)
        if live is not None and live.delays:
            delays = sorted(live.delays.values())
            where.add_row("live path", f"{len(delays):,} notes in {live.cycles:,} cycles; "
                          f"creation → note median {delays[len(delays) // 2]:.0f} s, "
                          f"wall {live.wall_seconds / 60:.1f} min")
        for name in ("report", "warehouse"):
            if name in out:
                where.add_row(name, str(out[name]))
        where.add_row("ui", "make ui  (Dagster UI over this warehouse)")
        where.add_row("next", "altor investigate <ticket id>, altor doctor, altor run")
        where.add_row("logs", str(log_path))
        where.add_row("took", f"{out.get('seconds', 0) / 60:.1f} min")
        console.print(where)
    if not batch.success or batch.failed_checks:
        raise typer.Exit(1)
