"""The short summary a command prints after a run: tickets, diagnoses delivered / abstained by
cause, and the headline metrics before -> after go-live with their 95% intervals, from the
warehouse's marts (sql/reporting/summary_*.sql). Read-only; an absent table gives no line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb
from rich.table import Table

from altor_pipelines.clock import parse_time
from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.duckdb import connect, sql_text

LABELS = {"escalation_rate": "escalation rate",
          "first_contact_resolution_rate": "first-contact resolution",
          "investigation_minutes": "investigation time (median)"}


def _fmt(statistic: str, value: Any, low: Any, high: Any, n: Any) -> str:
    if value is None:
        return "–"
    if statistic == "rate":
        text = f"{100 * value:.1f}% [{100 * low:.1f}–{100 * high:.1f}]"
    else:
        text = f"{_minutes(value)} [{_minutes(low)}–{_minutes(high)}]"
    return f"{text}, n={n:,}"


def _minutes(m: float | None) -> str:
    if m is None:
        return "?"
    if m < 1:
        return f"{m * 60:.0f} s"
    if m < 120:
        return f"{m:.1f} min"
    return f"{m / 60:.1f} h"


def summary_tables(warehouse_path: Path, go_live: str | None) -> list[Table]:
    """Two small tables (metrics before -> after; diagnoses by cause), or [] without marts."""
    if not Path(warehouse_path).is_file():  # none yet, or none named (a failed run)
        return []
    con = connect(warehouse_path, read_only=True)
    try:
        return _tables(con, go_live)
    except duckdb.CatalogException:
        return []
    finally:
        con.close()


def _tables(con: duckdb.DuckDBPyConnection, go_live: str | None) -> list[Table]:
    live = parse_time(go_live)
    params = {"go_live": live.replace(tzinfo=None) if live else None}
    metrics = con.execute(sql_text("reporting/summary_metrics.sql")).fetchall()
    causes = con.execute(sql_text("reporting/summary_diagnoses.sql"), params).fetchall()
    out = []
    if metrics:
        table = Table(title="before → after go-live (95% intervals)", title_justify="left")
        for col in ("metric", "before", "after", "change"):
            table.add_column(col)
        for (metric, stat, bn, bv, bl, bh, an, av, al, ah, significant) in metrics:
            if an == 0:
                verdict = "no tickets after go-live yet"
            elif significant:
                verdict = "significant"
            else:
                verdict = "within noise"
            table.add_row(LABELS.get(metric, metric), _fmt(stat, bv, bl, bh, bn),
                          _fmt(stat, av, al, ah, an), verdict)
        out.append(table)
    if causes:
        scope = "since go-live" if live else "all tickets"
        table = Table(title=f"diagnoses {scope}: delivered / abstained", title_justify="left")
        for col in ("cause", "delivered", "abstained"):
            table.add_column(col, justify="right" if col != "cause" else "left")
        for cause, delivered, abstained in causes:
            table.add_row(cause, f"{delivered:,}", f"{abstained:,}")
        table.add_row("[bold]all[/]", f"[bold]{sum(r[1] for r in causes):,}[/]",
                      f"[bold]{sum(r[2] for r in causes):,}[/]")
        out.append(table)
    return out


def settings_summary_tables(settings: Settings) -> list[Table]:
    return summary_tables(settings.warehouse_path, settings.go_live or None)
