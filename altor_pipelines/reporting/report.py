"""The analysts' report: one self-contained HTML page (inline SVG charts, inline CSS, no
scripts, no network) built from the metric marts. Same warehouse and go-live -> same bytes."""

from __future__ import annotations

import html
from datetime import date, datetime
from pathlib import Path
from typing import Any

import duckdb

from altor_pipelines.clock import naive_utc
from altor_pipelines.reporting import charts
from altor_pipelines.reporting.marts import build_metric_marts
from altor_pipelines.taxonomy import GROUP_TITLES
from altor_pipelines.warehouse.duckdb import sql_text

METRIC_LABELS = {
    "escalation_rate": "Escalation rate",
    "system_access_escalation_rate": "System-access escalation rate",
    "first_contact_resolution_rate": "First-contact resolution",
    "one_touch_rate": "One-touch resolution",
    "two_touch_rate": "Two-touch resolution",
    "reopen_rate": "Reopen rate",
    "investigation_minutes": "Investigation time (median)",
    "first_reply_time_calendar_minutes": "First reply time (median)",
    "first_reply_time_business_minutes": "First reply time, business hours (median)",
    "first_resolution_calendar_minutes": "First resolution time (median)",
    "first_resolution_business_minutes": "First resolution time, business hours (median)",
    "full_resolution_calendar_minutes": "Full resolution time (median)",
    "full_resolution_business_minutes": "Full resolution time, business hours (median)",
}
# for these a fall is an improvement
LOWER_IS_BETTER = {"escalation_rate", "system_access_escalation_rate", "reopen_rate",
                   "two_touch_rate"}

_MARTS = ("mart_ticket_outcomes", "mart_before_after", "mart_escalation_weekly",
          "mart_first_contact_resolution_weekly", "mart_investigation_time",
          "mart_escalation_causes", "mart_model_performance_weekly")


def _report_rows(con: duckdb.DuckDBPyConnection, name: str,
                 params: dict[str, Any] | None = None) -> list[tuple]:
    """The rows of the report's query `sql/marts/report/<name>.sql`."""
    return con.execute(sql_text(f"marts/report/{name}.sql"), params or {}).fetchall()


def _as_datetime(go_live: datetime | str) -> datetime:
    """A naive UTC datetime (the warehouse's timestamps are UTC without a zone)."""
    return naive_utc(go_live)


def _marts_match(con: duckdb.DuckDBPyConnection, go_live: datetime) -> bool:
    present = {r[0] for r in _report_rows(con, "built_marts")}
    if not set(_MARTS) <= present:
        return False
    return _report_rows(con, "misdated_tickets", {"go_live": go_live})[0][0] == 0


def build_report(
    con: duckdb.DuckDBPyConnection,
    out_path: Path | str,
    go_live: datetime | str,
    *,
    rebuild: bool = False,
    title: str = "Support escalations before and after Altor",
) -> Path:
    """Write the HTML report to `out_path` and return it.

    The marts are (re)built first when `rebuild` is set, when they are missing, or when they
    were built with another go-live; that needs a writable connection.
    """
    go_live = _as_datetime(go_live)
    if rebuild or not _marts_match(con, go_live):
        build_metric_marts(con, go_live)
    out = Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(render_report(con, go_live, title=title), encoding="utf-8")
    return out


def render_report(con: duckdb.DuckDBPyConnection, go_live: datetime, *, title: str) -> str:
    """The report's HTML, from the marts."""
    window = _report_rows(con, "window")[0]
    before_after = _report_rows(con, "before_after")
    by_metric = {r[0]: r for r in before_after}
    weekly = _report_rows(con, "escalation_weekly")
    fcr = _report_rows(con, "first_contact_resolution_weekly")
    inv_stats = _report_rows(con, "investigation_stats")
    inv = _report_rows(con, "investigation_minutes")
    causes = _report_rows(con, "escalation_causes")
    model_weeks = _report_rows(con, "model_weeks")
    model_causes = _report_rows(con, "model_causes")

    parts = [_head(title), "<body><main>", f"<h1>{_e(title)}</h1>"]
    parts.append(
        f"<p class='sub'>Tickets created {_day(window[0])} – {_day(window[1])} · go-live "
        f"{_e(go_live.strftime('%d %b %Y %H:%M'))} UTC · {window[3]:,} tickets counted "
        f"({window[2] - window[3]:,} deleted or merged left out) · definitions: "
        f"<code>docs/metrics.md</code></p>" if window[2] else
        "<p class='sub'>No tickets in the warehouse yet.</p>")
    parts.append(_tiles(by_metric))
    parts.append("<section><h2>Escalation and first-contact resolution, week by week</h2>")
    parts.append(charts.weekly_rates_chart(weekly, fcr, go_live))
    parts.append("<p class='note'>Weeks start on Monday (UTC), by ticket creation; the week of "
                 "go-live is split, its part after go-live drawn at go-live. Escalated: "
                 "moved to an engineering group or linked to an engineering issue it caused. "
                 "FCR: solved with one public agent reply and never reopened, over solved "
                 "tickets. The latest weeks are provisional: open tickets can still escalate."
                 "</p></section>")
    parts.append("<section><h2>Investigation time</h2>")
    parts.append(charts.investigation_chart([r[1] for r in inv if r[0] == "before"],
                                            [r[1] for r in inv if r[0] == "after"]))
    parts.append("<p class='stats'>" + " · ".join(
        f"<b>{_e(p)}</b>: median {_e(charts.format_minutes(m))} "
        f"(95% CI {_ci('investigation_minutes', lo, hi)}), "
        f"p90 {_e(charts.format_minutes(q))}, "
        f"n={n:,}" for p, m, q, n, lo, hi in inv_stats) + "</p>")
    parts.append("<p class='note'>Before go-live: creation to the first internal note by an "
                 "agent (for escalated tickets, the first one after the escalation). After: "
                 "creation to the Altor note in the help desk, as the live path delivered it "
                 "(to the diagnosis when no note was written; the manual measure when a "
                 "ticket has neither).</p></section>")
    parts.append("<section><h2>Why tickets were escalated</h2>")
    parts.append(charts.causes_chart([(r[0], r[1], r[2], r[3]) for r in causes]))
    parts.append(_causes_table(causes))
    parts.append("</section>")
    parts.append("<section><h2>Automated diagnoses</h2>")
    if model_weeks:
        parts.append(charts.model_chart([r[0] for r in model_weeks], [r[1] for r in model_weeks],
                                        [r[2] for r in model_weeks],
                                        [(c, r, n) for c, r, n in model_causes]))
        total = sum(r[3] for r in model_weeks)
        delivered = sum(r[4] for r in model_weeks)
        parts.append(f"<p class='note'>{total:,} tickets diagnosed; {delivered:,} delivered "
                     "with a cause, the rest abstained and were flagged for an engineer. "
                     "Agreement is measured against the cause agents recorded at resolution, "
                     "a noisy label. Weeks are those of the first diagnosis: the history "
                     "before go-live is diagnosed once, in batch, by a model trained on it "
                     "(its agreement is optimistic) and counts in the week of that run; "
                     "`altor backtest` measures a window the model never saw.</p>")
    else:
        parts.append("<p class='empty'>No diagnoses in the warehouse yet.</p>")
    parts.append("</section>")
    parts.append("<section><h2>Before and after go-live, with 95% confidence intervals</h2>")
    parts.append(_before_after_table(before_after))
    parts.append("<p class='note'>Rates: Wilson score intervals; the change's interval by "
                 "Newcombe's hybrid score method. Medians: distribution-free order-statistic "
                 "intervals; a change in a median is marked significant only when the two "
                 "intervals do not overlap. Business-hours times are Zendesk's own ticket "
                 "metrics (its schedule).</p></section>")
    parts.append("</main></body></html>")
    return "\n".join(parts) + "\n"


def _tiles(by_metric: dict[str, tuple]) -> str:
    """The three headline figures after go-live, each with its n and 95% interval, the figure
    before go-live beside it, and in words whether the change is more than noise."""
    tiles = []
    for metric, label in (("escalation_rate", "Escalation rate"),
                          ("first_contact_resolution_rate", "First-contact resolution"),
                          ("investigation_minutes", "Median investigation time")):
        row = by_metric.get(metric)
        if row is None:
            continue
        (_m, _s, bn, _bx, before, bl, bh, an, _ax, after, al, ah, *_rest) = row
        significant = row[15]
        verdict = ""
        if before is not None and after is not None:
            better = (after < before) == (metric in LOWER_IS_BETTER or metric.endswith(
                "minutes"))
            cls = ("good" if better else "bad") if significant else "flat"
            if significant:
                words = "a real change: the 95% intervals exclude no change"
            elif an < 30:
                words = f"within noise: only {an:,} tickets after go-live"
            else:
                words = "within noise: the intervals overlap"
            verdict = f"<div class='change {cls}'>{_e(words)}</div>"
        elif after is None:
            verdict = "<div class='change flat'>no tickets after go-live yet</div>"
        tiles.append(
            f"<div class='tile'><div class='label'>{_e(label)}</div>"
            f"<div class='value'>{_fmt(metric, after)}</div>"
            f"<div class='period'>after go-live: n={an:,}, 95% CI {_ci(metric, al, ah)}</div>"
            f"<div class='period'>before: {_fmt(metric, before)}, n={bn:,}, 95% CI "
            f"{_ci(metric, bl, bh)}</div>{verdict}</div>")
    return f"<section class='tiles'>{''.join(tiles)}</section>"


def _causes_table(causes: list[tuple]) -> str:
    head = ("<tr><th>period</th><th>cause</th><th>escalations</th><th>share</th>"
            "<th>avoidable<br>(cause needs no engineer)</th><th>with a delivered "
            "diagnosis</th><th>removable by the diagnosis</th></tr>")
    body = "".join(
        f"<tr><td>{_e(p)}</td><td>{_e(GROUP_TITLES.get(c, c))}</td>"
        f"<td class='n'>{n:,}</td><td class='n'>{_pct(s)}</td><td class='n'>{a:,}</td>"
        f"<td class='n'>{d:,}</td><td class='n'>{r:,}</td></tr>"
        for p, c, n, s, _t, a, d, r in causes)
    return f"<table class='data'>{head}{body}</table>"


def _before_after_table(rows: list[tuple]) -> str:
    head = ("<tr><th>metric</th><th>before</th><th>95% CI</th><th>n</th><th>after</th>"
            "<th>95% CI</th><th>n</th><th>change</th><th>95% CI of change</th>"
            "<th>significant</th></tr>")
    body = []
    for (metric, _stat, bn, _bx, bv, bl, bh, an, _ax, av, al, ah, ch, cl, chh, sig) in rows:
        body.append(
            f"<tr><td>{_e(METRIC_LABELS.get(metric, metric))}</td>"
            f"<td class='n'>{_fmt(metric, bv)}</td><td class='n ci'>{_ci(metric, bl, bh)}</td>"
            f"<td class='n'>{bn:,}</td>"
            f"<td class='n'>{_fmt(metric, av)}</td><td class='n ci'>{_ci(metric, al, ah)}</td>"
            f"<td class='n'>{an:,}</td>"
            f"<td class='n'>{_fmt_change(metric, ch)}</td>"
            f"<td class='n ci'>{_ci_change(metric, cl, chh)}</td>"
            f"<td>{'yes' if sig else ('no' if sig is not None else '–')}</td></tr>")
    return f"<table class='data'>{head}{''.join(body)}</table>"


def _is_rate(metric: str) -> bool:
    return metric.endswith("_rate")


def _fmt(metric: str, v: float | None) -> str:
    if v is None:
        return "–"
    return _pct(v) if _is_rate(metric) else _e(charts.format_minutes(v))


def _fmt_change(metric: str, v: float | None) -> str:
    if v is None:
        return "–"
    if _is_rate(metric):
        return f"{v * 100:+.1f} pts".replace("-", "−")
    if v == 0:
        return "0"
    return ("+" if v >= 0 else "−") + _e(charts.format_minutes(abs(v)))


def _ci(metric: str, low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "–"
    return f"{_fmt(metric, low)} – {_fmt(metric, high)}"


def _ci_change(metric: str, low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return "–"
    return f"{low * 100:+.1f} to {high * 100:+.1f} pts".replace("-", "−")


def _pct(v: float | None) -> str:
    return "–" if v is None else f"{v:.1%}"


def _day(v: datetime | date | None) -> str:
    return "–" if v is None else _e(v.strftime("%d %b %Y"))


def _e(text: object) -> str:
    return html.escape(str(text))


def _head(title: str) -> str:
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{_e(title)}</title>
<style>
body {{ margin: 0; background: #f6f7f9; color: #1f2937;
       font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; }}
main {{ max-width: 1120px; margin: 0 auto; padding: 28px 24px 48px; }}
h1 {{ font-size: 26px; margin: 0 0 4px; }}
h2 {{ font-size: 17px; margin: 0 0 10px; }}
.sub, .note {{ color: #6b7280; }}
.note {{ font-size: 12.5px; margin: 6px 0 0; }}
section {{ background: #fff; border: 1px solid #e5e7eb; border-radius: 10px;
           padding: 18px 20px; margin: 18px 0; }}
section svg {{ width: 100%; height: auto; display: block; }}
.tiles {{ display: flex; gap: 16px; background: none; border: 0; padding: 0; }}
.tile {{ flex: 1; background: #fff; border: 1px solid #e5e7eb; border-radius: 10px;
         padding: 14px 18px; }}
.tile .label {{ color: #6b7280; font-size: 13px; }}
.tile .value {{ font-size: 32px; font-weight: 650; margin: 2px 0; }}
.tile .period {{ color: #6b7280; font-size: 12px; }}
.change {{ font-size: 13px; margin-top: 6px; }}
.change.good {{ color: #047857; }} .change.bad {{ color: #b91c1c; }}
.change.flat {{ color: #6b7280; }}
table.data {{ border-collapse: collapse; width: 100%; margin-top: 12px; font-size: 13px; }}
table.data th {{ text-align: left; color: #6b7280; font-weight: 600; border-bottom: 1px solid
                 #e5e7eb; padding: 6px 8px; vertical-align: bottom; }}
table.data td {{ border-bottom: 1px solid #f0f1f3; padding: 6px 8px; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
td.ci {{ color: #6b7280; }}
.stats {{ margin: 8px 0 0; }}
.empty {{ color: #6b7280; font-style: italic; }}
code {{ font-size: 12.5px; }}
</style></head>"""
