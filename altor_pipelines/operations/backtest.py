"""`altor backtest`: what the pipeline would have done, before a team switches anything on.

Over a window [start, end) of the warehouse's history:
1. every ticket is investigated at its own creation time (the point-in-time feature SQL, as the
   history is; `investigation.build_investigation` without `as_of`);
2. the classifier is trained (`ml.promote.build_triage_model`) only on what the help desk knew at
   the window's start: tickets created before it, with the status and root cause last set
   before it and the group moves made before it (sql/backtest/*_at_start.sql);
3. each ticket of the window is diagnosed (`ml.serve.diagnose`) and compared with what is known
   now: the cause agents recorded, and whether it was escalated.

Per diagnosed cause: diagnoses that would have been delivered, their agreement with the
recorded cause, and the escalations a correct diagnosis would have made avoidable (escalated
tickets whose delivered diagnosis agrees with the recorded cause and needs no engineer), each
with a Wilson 95% interval. Everything runs on an in-memory connection over the warehouse
(attached read-only): the warehouse is never written, so it runs beside a deployment.
"""

from __future__ import annotations

import html
import json
import math
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from altor_pipelines.investigation.build import build_investigation
from altor_pipelines.ml.feature_spec import TableNames
from altor_pipelines.ml.promote import build_triage_model
from altor_pipelines.ml.serve import diagnose
from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import SQL_DIR, scratch_over, sql_text

Z = 1.959964


def wilson(x: int, n: int) -> tuple[float | None, float | None, float | None]:
    """Share x/n with its Wilson score 95% interval (None when n is 0)."""
    if n == 0:
        return None, None, None
    p = x / n
    centre = (p + Z * Z / (2 * n)) / (1 + Z * Z / n)
    half = Z * math.sqrt(p * (1 - p) / n + Z * Z / (4 * n * n)) / (1 + Z * Z / n)
    return p, max(0.0, centre - half), min(1.0, centre + half)


def _naive(t: datetime) -> datetime:
    """A naive UTC datetime (the warehouse's timestamps are UTC without a zone)."""
    return t if t.tzinfo is None else t.astimezone(UTC).replace(tzinfo=None)


def prepare_scratch(warehouse_path: Path,
                    clickhouse: ClickHouseAccess) -> duckdb.DuckDBPyConnection:
    """An in-memory connection reading the warehouse's staging, with the history's features
    (each ticket investigated at its creation time) built in memory."""

    con = scratch_over(warehouse_path)
    build_investigation(con, clickhouse, clickhouse_database=clickhouse.database)
    return con


def train_at(con: duckdb.DuckDBPyConnection, start: datetime, models_root: Path) -> dict:
    """Train and register a model on what the help desk knew at `start`."""

    con.execute("CREATE SCHEMA IF NOT EXISTS backtest")
    for name in ("tickets_at_start", "field_history_at_start"):
        con.execute(f"CREATE OR REPLACE TABLE backtest.{name} AS "
                    + sql_text(f"backtest/{name}.sql"), {"as_of": start})
    tables = TableNames(tickets="backtest.tickets_at_start",
                        field_history="backtest.field_history_at_start")
    return build_triage_model(con, models_root, SQL_DIR, before=start, tables=tables)


def diagnose_window(con: duckdb.DuckDBPyConnection, models_root: Path, start: datetime,
                    end: datetime) -> int:
    """Diagnose every ticket created in [start, end) into backtest.diagnoses."""

    ids = [r[0] for r in con.execute(sql_text("backtest/window_tickets.sql"),
                                     {"window_start": start, "window_end": end}).fetchall()]
    frame = diagnose(con, models_root, ticket_ids=ids) if ids else None
    con.execute("CREATE SCHEMA IF NOT EXISTS backtest")
    if frame is None or frame.is_empty():
        con.execute(sql_text("backtest/diagnoses_table.sql"))
        return 0
    arrow = frame.select("ticket_id", "cause", "top_cause", "top_probability", "abstained",
                         "escalate").to_arrow()
    con.register("_backtest_diagnoses", arrow)
    try:
        con.execute("CREATE OR REPLACE TABLE backtest.diagnoses AS "
                    "SELECT * FROM _backtest_diagnoses")
    finally:
        con.unregister("_backtest_diagnoses")
    return frame.height


def summarise(rows: list[tuple]) -> dict[str, Any]:
    """Per-cause and overall figures from window_outcomes rows."""
    causes: dict[str, dict[str, int]] = {}
    total = {"tickets": 0, "diagnosed": 0, "delivered": 0, "with_recorded": 0, "agreed": 0,
             "escalated": 0, "avoidable": 0}
    for (_tid, _created, recorded, escalated, delivered, top, _p, abstained,
         escalates) in rows:
        total["tickets"] += 1
        total["escalated"] += bool(escalated)
        if top is None:
            continue
        total["diagnosed"] += 1
        c = causes.setdefault(top, {"diagnosed": 0, "delivered": 0, "with_recorded": 0,
                                    "agreed": 0, "escalated": 0, "avoidable": 0})
        c["diagnosed"] += 1
        if delivered is None or abstained:
            continue
        c["delivered"] += 1
        total["delivered"] += 1
        if recorded is not None:
            c["with_recorded"] += 1
            total["with_recorded"] += 1
            agreed = delivered == recorded
            c["agreed"] += agreed
            total["agreed"] += agreed
            if escalated:
                c["escalated"] += 1
                if agreed and not escalates:
                    c["avoidable"] += 1
                    total["avoidable"] += 1

    def shares(d: dict[str, int]) -> dict[str, Any]:
        out: dict[str, Any] = dict(d)
        for name, x, n in (("delivered_share", d["delivered"], d["diagnosed"]),
                           ("agreement", d["agreed"], d["with_recorded"])):
            v, lo, hi = wilson(x, n)
            out[name], out[f"{name}_ci"] = v, [lo, hi]
        return out

    overall = shares(total)
    v, lo, hi = wilson(total["avoidable"], total["escalated"])
    overall["avoidable_share_of_escalations"], overall["avoidable_share_ci"] = v, [lo, hi]
    per_cause = {}
    for cause, d in sorted(causes.items()):
        per = shares(d)
        v, lo, hi = wilson(d["avoidable"], d["escalated"])
        per["avoidable_share_of_its_escalations"], per["avoidable_ci"] = v, [lo, hi]
        per_cause[cause] = per
    return {"overall": overall, "per_cause": per_cause}


def run_backtest(settings: Settings, start: datetime, end: datetime,
                 work_dir: Path | None = None) -> dict[str, Any]:
    """The backtest of [start, end) on the settings' warehouse (see module docstring)."""
    t0 = time.perf_counter()
    start, end = _naive(start), _naive(end)
    if not end > start:
        raise ValueError("the window's end must be after its start")
    with tempfile.TemporaryDirectory(dir=work_dir) as tmp:
        con = prepare_scratch(settings.warehouse_path, ClickHouseAccess(settings))
        try:
            training = train_at(con, start, Path(tmp) / "models")
            diagnose_window(con, Path(tmp) / "models", start, end)
            rows = con.execute(sql_text("backtest/window_outcomes.sql"),
                               {"window_start": start, "window_end": end}).fetchall()
            trained_before = con.execute(
                "SELECT (SELECT max(created_at) FROM backtest.tickets_at_start), "
                "(SELECT max(updated_at) FROM backtest.field_history_at_start)").fetchone()
        finally:
            con.close()
    result = {
        "window": [start.isoformat(), end.isoformat()],
        "model": {"version": training["version"], "rows": training["rows"],
                  "rows_per_class": training["rows_per_class"],
                  "newest_training_ticket_created_at": str(trained_before[0]),
                  "newest_training_fact_at": str(trained_before[1])},
        **summarise(rows),
        "tickets": [{"ticket_id": r[0], "created_at": str(r[1]), "recorded_root_cause": r[2],
                     "is_escalated": r[3], "delivered_cause": r[4], "top_cause": r[5],
                     "top_probability": r[6]} for r in rows],
        "seconds": round(time.perf_counter() - t0, 1),
    }
    return result


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1%}"


def _ci(pair: list) -> str:
    return "–" if pair[0] is None else f"{pair[0]:.1%} – {pair[1]:.1%}"


def render_html(result: dict[str, Any]) -> str:
    """A self-contained HTML section: the window, the model, one row per cause."""
    e = html.escape
    o = result["overall"]
    head = ("<tr><th>cause (as diagnosed)</th><th>diagnosed</th><th>would be delivered</th>"
            "<th>agreement with the recorded cause</th><th>95% CI</th><th>escalated</th>"
            "<th>avoidable with the diagnosis</th><th>95% CI</th></tr>")
    body = "".join(
        f"<tr><td>{e(c)}</td><td>{d['diagnosed']:,}</td><td>{d['delivered']:,}</td>"
        f"<td>{_pct(d['agreement'])} of {d['with_recorded']:,}</td><td>{_ci(d['agreement_ci'])}"
        f"</td><td>{d['escalated']:,}</td><td>{d['avoidable']:,} "
        f"({_pct(d['avoidable_share_of_its_escalations'])})</td><td>{_ci(d['avoidable_ci'])}"
        f"</td></tr>" for c, d in result["per_cause"].items())
    start, end = result["window"]
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Altor backtest</title>
<style>body {{ font: 14px/1.45 system-ui, sans-serif; margin: 24px; color: #1f2937; }}
table {{ border-collapse: collapse; }} td, th {{ padding: 5px 9px; border-bottom: 1px solid
#e5e7eb; text-align: right; }} td:first-child, th:first-child {{ text-align: left; }}
.note {{ color: #6b7280; font-size: 12.5px; }}</style></head><body>
<section><h2>Backtest: tickets created {e(start)} – {e(end)}</h2>
<p>{o['tickets']:,} tickets; {o['delivered']:,} diagnoses would have been delivered
({_pct(o['delivered_share'])}, 95% CI {_ci(o['delivered_share_ci'])}), agreeing with the
recorded cause {_pct(o['agreement'])} of the time (95% CI {_ci(o['agreement_ci'])}, over
{o['with_recorded']:,} with a recorded cause). Of {o['escalated']:,} escalations,
{o['avoidable']:,} ({_pct(o['avoidable_share_of_escalations'])}, 95% CI
{_ci(o['avoidable_share_ci'])}) had a correct delivered diagnosis of a cause that needs no
engineer.</p>
<table>{head}{body}</table>
<p class="note">Model {e(result['model']['version'])}, trained on {result['model']['rows']:,}
tickets known before the window (newest created {e(result['model'][
    'newest_training_ticket_created_at'])}). Every ticket investigated at its creation time.
Intervals: Wilson score, 95%. The recorded cause is a noisy label.</p></section>
</body></html>
"""


def write_outputs(result: dict[str, Any], out_dir: Path) -> tuple[Path, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path, html_path = out_dir / "backtest.json", out_dir / "backtest.html"
    json_path.write_text(json.dumps(result, indent=2, default=str) + "\n")
    html_path.write_text(render_html(result), encoding="utf-8")
    return json_path, html_path
