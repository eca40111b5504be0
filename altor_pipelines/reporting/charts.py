"""The report's charts: matplotlib figures rendered to inline SVG, deterministic, no network."""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from datetime import date, datetime, timedelta

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter, NullLocator, PercentFormatter  # noqa: E402

from altor_pipelines.taxonomy import GROUP_TITLES  # noqa: E402

BEFORE = "#9aa4b2"
AFTER = "#2563eb"
INK = "#1f2937"
MUTED = "#6b7280"
CAUSE_COLOURS = {"system_access": "#2563eb", "novel": "#f59e0b", "misrouted": "#a855f7"}

_STYLE = {
    "svg.hashsalt": "altor-report",  # stable element ids: the same data gives the same file
    "svg.fonttype": "none",  # text stays text (the page's font, selectable, small files)
    "font.family": "sans-serif",
    "font.size": 10,
    "axes.edgecolor": "#d1d5db",
    "axes.labelcolor": INK,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "axes.axisbelow": True,
    "grid.color": "#eef0f3",
    "xtick.color": MUTED,
    "ytick.color": MUTED,
    "legend.frameon": False,
}


def to_svg(fig: plt.Figure) -> str:
    """The figure as an inline <svg> element (no XML prolog, no creation date)."""
    buf = io.StringIO()
    fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]


def _figure(width: float, height: float, ncols: int = 1) -> tuple[plt.Figure, list]:
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(1, ncols, figsize=(width, height), squeeze=False)
    return fig, list(axes[0])


def _mark_go_live(ax, go_live: datetime) -> None:
    ax.axvline(go_live, color=INK, linestyle="--", linewidth=1)
    ax.annotate("go-live", xy=(go_live, 1.0), xycoords=("data", "axes fraction"),
                xytext=(4, -12), textcoords="offset points", color=INK, fontsize=9)


def _week_axis(ax, weeks: Sequence[date], also: date | datetime | None = None) -> None:
    """Ticks on Mondays, at most about eight of them, over the weeks shown plus half a week on
    each side (a single week otherwise gives a zero-width axis and a pile of tick labels)."""
    if not weeks:
        return
    first, last = min(weeks), max(weeks)
    span = (last - first).days // 7 + 1
    left, right = first - timedelta(days=4), last + timedelta(days=4)
    if also is not None:  # e.g. go-live, drawn as a line: keep it inside the axis
        day = also.date() if isinstance(also, datetime) else also
        left, right = min(left, day - timedelta(days=1)), max(right, day + timedelta(days=1))
    ax.set_xlim(left, right)
    if span <= 8:
        ax.set_xticks(sorted(set(weeks)))
    else:
        ax.xaxis.set_major_locator(mdates.WeekdayLocator(byweekday=mdates.MO,
                                                         interval=math.ceil(span / 8)))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))


def weekly_rates_chart(
    escalation: Sequence[tuple[date, str, float | None]],
    fcr: Sequence[tuple[date, str, float | None]],
    go_live: datetime,
) -> str:
    """Escalation rate and first-contact resolution per week, one line before go-live and one
    after (rows: week start, period, rate). The week that holds go-live has a point in each: its
    part after go-live is drawn at go-live's day, so no point mixes the two periods."""
    with plt.rc_context(_STYLE):
        fig, (ax1, ax2) = _figure(11, 3.4, ncols=2)
        for ax, rows, title, colour in (
            (ax1, escalation, "Escalation rate (share of tickets to engineering)", "#dc2626"),
            (ax2, fcr, "First-contact resolution (share of solved tickets)", "#059669"),
        ):
            for period, style in (("before", ":"), ("after", "-")):
                points = sorted((max(week, go_live.date()) if period == "after" else week, y)
                                for week, p, y in rows if p == period and y is not None)
                if points:
                    px, py = zip(*points, strict=True)
                    ax.plot(px, py, marker="o", markersize=4, color=colour, linewidth=2,
                            linestyle=style, label=f"{period} go-live")
            ax.set_title(title, loc="left", fontsize=11, color=INK)
            ax.set_ylim(0, 1)
            ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
            _week_axis(ax, [week for week, _, _ in rows], also=go_live)
            _mark_go_live(ax, go_live)
            if ax.get_lines():
                ax.legend(loc="lower left", fontsize=8, frameon=False)
        fig.tight_layout()
        return to_svg(fig)


def investigation_chart(before: Sequence[float], after: Sequence[float]) -> str:
    """Distribution of investigation minutes before vs after go-live (log-scaled minutes)."""
    with plt.rc_context(_STYLE):
        fig, (ax,) = _figure(11, 3.2)
        values = [v for v in (*before, *after) if v is not None]
        if not values:
            ax.text(0.5, 0.5, "No investigation times measured yet", ha="center",
                    va="center", transform=ax.transAxes, color=MUTED)
            ax.set_axis_off()
            return to_svg(fig)
        low = max(min(values), 0.5)
        high = max(max(values), low * 2)
        edges = [low * (high / low) ** (i / 30) for i in range(31)]
        for data, colour, label in ((before, BEFORE, "before go-live (manual)"),
                                    (after, AFTER, "after go-live")):
            raw = sorted(v for v in data if v is not None)
            if not raw:
                continue
            n = len(raw)
            median = raw[n // 2] if n % 2 else (raw[n // 2 - 1] + raw[n // 2]) / 2
            ax.hist([max(v, low) for v in raw], bins=edges, weights=[1 / n] * n,
                    color=colour, alpha=0.55, label=f"{label}, n={n}")
            ax.axvline(median, color=colour, linewidth=2)
            ax.annotate(f"median {format_minutes(median)}", xy=(median, 1.0),
                        xycoords=("data", "axes fraction"), xytext=(4, -14 if colour == AFTER
                                                                       else -28),
                        textcoords="offset points", color=colour, fontsize=9)
        ax.set_xscale("log")
        # at least 2x apart on the log axis, so two labels never overlap (10 and 15 did)
        nice = [0.5, 1, 2, 5, 10, 30, 60, 120, 240, 480, 1440, 2880, 10080, 43200]
        ax.set_xticks([v for v in nice if edges[0] <= v <= edges[-1]] or [edges[0]])
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _p: format_minutes(v)))
        ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.set_xlabel("minutes from ticket creation to the first investigation finding")
        ax.set_ylabel("share of tickets")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
        fig.tight_layout()
        return to_svg(fig)


def causes_chart(rows: Sequence[tuple[str, str, int, float | None]]) -> str:
    """Escalations by cause, before vs after: (period, cause, escalations, share)."""
    with plt.rc_context(_STYLE):
        fig, (ax,) = _figure(11, 2.3)
        periods = ["before", "after"]
        for y, period in enumerate(periods):
            left = 0.0
            for _p, cause, count, share in (r for r in rows if r[0] == period):
                share = share or 0.0
                ax.barh(y, share, left=left, color=CAUSE_COLOURS[cause], height=0.55,
                        label=GROUP_TITLES[cause] if y == 0 else None)
                if share >= 0.06:
                    ax.text(left + share / 2, y, f"{share:.0%} ({count})", ha="center",
                            va="center", color="white", fontsize=9, fontweight="bold")
                left += share
        ax.set_yticks(range(len(periods)), [f"{p} go-live" for p in periods])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.grid(axis="y", visible=False)
        ax.set_title("Escalations by cause (share of escalated tickets)", loc="left",
                     fontsize=11, color=INK)
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=3)
        fig.tight_layout()
        return to_svg(fig)


def model_chart(
    weeks: Sequence[date],
    delivered_share: Sequence[float | None],
    agreement_rate: Sequence[float | None],
    causes: Sequence[tuple[str, float | None, int]],
) -> str:
    """Model delivery and agreement with recorded causes per week, and agreement per cause."""
    with plt.rc_context(_STYLE):
        fig, (ax1, ax2) = _figure(11, 3.2, ncols=2)
        for ys, colour, label in ((delivered_share, AFTER, "delivered (not abstained)"),
                                  (agreement_rate, "#059669",
                                   "agrees with the recorded cause")):
            points = [(x, y) for x, y in zip(weeks, ys, strict=True) if y is not None]
            if points:
                px, py = zip(*points, strict=True)
                ax1.plot(px, py, marker="o", markersize=4, color=colour, linewidth=2,
                         label=label)
        ax1.set_ylim(0, 1.05)
        ax1.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        _week_axis(ax1, list(weeks))
        ax1.set_title("Diagnoses per week", loc="left", fontsize=11, color=INK)
        ax1.legend(loc="lower left")
        labels = [c for c, _r, _n in causes]
        rates = [r if r is not None else 0.0 for _c, r, _n in causes]
        ax2.barh(range(len(labels)), rates, color="#059669", height=0.6)
        for i, (_c, rate, n) in enumerate(causes):
            text = "n/a" if rate is None else f"{rate:.0%}"
            ax2.text(rates[i] + 0.03, i, f"{text} of {n}", va="center",
                     fontsize=9, color=INK)
        ax2.set_yticks(range(len(labels)), labels)
        ax2.invert_yaxis()
        ax2.set_xlim(0, 1.3)
        ax2.set_xticks([0, 0.25, 0.5, 0.75, 1.0])
        ax2.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax2.grid(axis="y", visible=False)
        ax2.set_title("Agreement per diagnosed cause (all weeks)", loc="left", fontsize=11,
                      color=INK)
        fig.tight_layout()
        return to_svg(fig)


def format_minutes(v: float) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "–"
    if v < 1:
        return f"{v * 60:.0f} s"
    if v < 90:
        return f"{v:.0f} min" if v >= 10 else f"{v:.1f} min".replace(".0 ", " ")
    if v < 48 * 60:
        return f"{v / 60:.1f} h"
    return f"{v / 1440:.1f} d"
