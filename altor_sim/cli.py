"""`altor demo …` and `altor eval`: make a world, serve it, run the pipeline on it, score it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from altor_pipelines.errors import AltorError
from altor_pipelines.operations.console import quiet_terminal, stage_progress
from altor_pipelines.operations.run import failure_lines
from altor_pipelines.reporting.summary import summary_tables
from altor_pipelines.settings import Settings
from altor_sim.evaluation.runner import evaluate_world_dir
from altor_sim.evaluation.truth import format_report
from altor_sim.evaluation.zoo import default_extra_worlds, run_zoo
from altor_sim.evaluation.zoo_seeds import run_zoo_seeds
from altor_sim.run import run_demo
from altor_sim.servers import serve_forever
from altor_sim.world.generator import WorldParams, generate_world

# The repository root: ../shared/worlds beside it holds worlds made by other generators.
PROJECT_ROOT = Path(__file__).resolve().parents[1]

# The world's parameters, declared once for `generate` and `run`; defaults are WorldParams'.
DEFAULT_WORLD = WorldParams()
Seed = Annotated[int, typer.Option(
    help="Seed of the world: the same seed and parameters give byte-identical output.")]
Customers = Annotated[int, typer.Option(help="Number of customer organizations.")]
Days = Annotated[int, typer.Option(help="Length of the recorded history in days.")]
TicketsPerWeek = Annotated[int, typer.Option(help="Help-desk tickets per week.")]
RequestsPerMinute = Annotated[float, typer.Option(
    help="Platform-wide API requests per minute (before episodes).")]

demo_app = typer.Typer(
    help="The simulated company: generate, serve and run it.", no_args_is_help=True,
    add_completion=False,
)


@demo_app.command("generate")
def generate(
    out: Path = typer.Option(Path("data/worlds/demo"), help="Directory to write the world to."),
    seed: Seed = DEFAULT_WORLD.seed,
    customers: Customers = DEFAULT_WORLD.customers,
    days: Days = DEFAULT_WORLD.days,
    tickets_per_week: TicketsPerWeek = DEFAULT_WORLD.tickets_per_week,
    requests_per_minute: RequestsPerMinute = DEFAULT_WORLD.requests_per_minute,
) -> None:
    """Generate a world in the altor-world/1 format (docs/world-format.md)."""
    params = WorldParams(seed=seed, customers=customers, days=days,
                         tickets_per_week=tickets_per_week, requests_per_minute=requests_per_minute)
    try:
        summary = generate_world(out, params)
    except AltorError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
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
    serve_forever(world, as_of=as_of)


@demo_app.command("run")
def run(
    world: Path | None = typer.Option(
        None, help="Where the demo world lives (default: <data dir>/worlds/demo)."),
    data_dir: Path | None = typer.Option(
        None, help="Warehouse, ClickHouse and state folder (default: ALTOR_DATA_DIR, else data)."),
    seed: Seed = DEFAULT_WORLD.seed,
    customers: Customers = DEFAULT_WORLD.customers,
    days: Days = DEFAULT_WORLD.days,
    tickets_per_week: TicketsPerWeek = DEFAULT_WORLD.tickets_per_week,
    requests_per_minute: RequestsPerMinute = DEFAULT_WORLD.requests_per_minute,
    live_days: float = typer.Option(
        3.0, help="Days of the world after go-live run on the live path, ticket by ticket: "
        "new tickets arrive, notes are written, simulated agents act on them."),
    verbose: bool = typer.Option(False, "--verbose", help="Show Dagster's and dlt's logs "
                                 "instead of writing them to <data dir>/logs/demo.log."),
) -> None:
    """Generate the demo company (once), serve it, run the history and the weeks after
    go-live, and print a short summary with where the report, UI and warehouse are."""
    data_dir = (data_dir or Settings.from_env().data_dir).resolve()
    world = (world or data_dir / "worlds" / "demo").resolve()
    params = WorldParams(seed=seed, customers=customers, days=days,
                         tickets_per_week=tickets_per_week, requests_per_minute=requests_per_minute)
    log_path = data_dir / "logs" / "demo.log"
    with quiet_terminal(log_path, verbose) as console:
        console.print(f"[bold]Altor demo[/]: a simulated company, its history, then "
                      f"{live_days:g} days after go-live. Logs: {log_path}")
        try:
            with stage_progress(console) as progress:
                out = run_demo(world, data_dir, params, live_days, console, progress)
        except AltorError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(2) from None
        batch = out["batch"]
        if not batch.success:
            console.print(f"[red]the batch pipeline failed[/] (run {batch.run_id}); see {log_path}")
        for line in failure_lines(batch):
            console.print(f"[red]{line}[/]")
        for table in summary_tables(Path(out.get("warehouse", "")), out.get("go_live")):
            console.print(table)
        console.print(where_table(out, log_path))
    if not batch.success or batch.failed_checks:
        raise typer.Exit(1)


def where_table(out: dict, log_path: Path) -> Table:
    """The demo's last lines: the live path's figures and where everything is."""
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
    return where


eval_app = typer.Typer(add_completion=False)


@eval_app.command()
def evaluate(
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
    seeds: int = typer.Option(
        0, "--seeds", help="With --zoo: retrain each world of the last --zoo run in --zoo-dir "
        "with seeds 0..N-1 (its kept stores, no new sync) and print the spread between seeds."),
    verbose: bool = typer.Option(False, "--verbose", help="With --world: show Dagster's and "
                                 "dlt's logs instead of writing them to <data dir>/logs/eval.log."),
) -> None:
    """Score the pipeline on a world: sync it through the servers, train on the history before
    go-live, diagnose the tickets after it, compare with truth/. With --zoo, on many worlds."""
    if zoo and seeds:
        try:
            run_zoo_seeds(zoo_dir, seeds, echo=typer.echo)
        except (FileNotFoundError, ValueError) as exc:
            typer.echo(f"altor eval --seeds: {exc}", err=True)
            raise typer.Exit(2) from exc
        return
    if zoo:
        extra = default_extra_worlds(PROJECT_ROOT) if shared else []
        extra += [w for w in worlds or [] if w.resolve() not in {e.resolve() for e in extra}]
        table = run_zoo(zoo_dir, extra, tiny=tiny, echo=typer.echo)
        if table["failed"]:
            raise typer.Exit(1)
        return
    if not worlds or len(worlds) != 1:
        typer.echo("altor eval: give exactly one --world DIR (or --zoo)", err=True)
        raise typer.Exit(2)
    log_path = Settings.from_env().data_dir.resolve() / "logs" / "eval.log"
    with quiet_terminal(log_path, verbose) as console:
        def echo(line: str) -> None:
            console.print(line, markup=False, highlight=False, soft_wrap=True)

        echo(f"evaluating {worlds[0]} … (logs: {'this terminal' if verbose else log_path})")
        result = evaluate_world_dir(worlds[0], out=out, work_dir=work_dir, echo=echo)
        for line in eval_lines(result):
            echo(line)
        if out:
            echo(f"written: {out}")


def eval_lines(result: dict) -> list[str]:
    """What `altor eval --world` prints after its stages: the report, the rules alone on the
    same tickets, which causes each decider serves, and the warnings."""
    lines = [format_report(result), "", "heuristic rules alone (best rule cause), same tickets:"]
    for row in result["heuristics_only"]:
        lines.append(f"  {row['cause']:<22}" + "".join(
            f"{k} {row[k]:.3f}  " if isinstance(row[k], float) else f"{k} {row[k]}  "
            for k in ("precision", "recall", "f1", "support") if k in row))
    model = result.get("model", {})
    if model.get("decided_by"):
        lines += ["", "decided per cause: " + "; ".join(
            f"{src}: {', '.join(causes) or '-'}" for src, causes in model["decided_by"].items())]
    lines += [f"WARNING: {warning}" for warning in result.get("warnings", [])]
    return lines
