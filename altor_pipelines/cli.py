"""`altor`: the jobs people run by hand. Each command is a thin shell over package functions."""

from __future__ import annotations

import typer

from altor_pipelines.demo.cli import demo_app

app = typer.Typer(
    help="Altor pipelines: investigate support tickets with production data.",
    no_args_is_help=True,
    add_completion=False,
)
app.add_typer(demo_app, name="demo")


if __name__ == "__main__":
    app()
