"""Change marks: per source, the cheapest question that tells whether an incremental sync would
bring anything new, so the live path (delivery/live.py) skips a sync that would not.

A dlt run costs ~0.3-0.5 s even when it brings nothing (state, extract, normalize, load), and
the live path used to run four of them every cycle. A mark is a short string built from one to
four small requests (or none), asked with one quick attempt: a probe that fails makes its source
due, and the sync then retries and names what is wrong. When a mark equals the one stored at
the last sync, that sync is skipped. What a mark cannot see is bounded by the live path's
maximum age (`ALTOR_LIVE_SYNC_MAX_AGE_MINUTES`): past it a source is synced whatever its mark
says.

- stripe: the newest event's id. Every change to a Stripe object is an event (the source reads
  changes from the events too), so a new event id is the only sign of change it needs.
- linear: the most recently updated issue (id, updatedAt). Teams, states and labels change
  rarely: the maximum age covers them.
- github: the newest deployment, its newest status, the newest release and commit; no mark
  (always synced) while a deployment of the last day has no terminal status in the warehouse,
  since its outcome (the `success` that makes it a production deploy) may come after a newer
  deployment's (sql/delivery/github_unsettled_deployments.sql).
- clickhouse: the last closed hour at the clock. The source loads closed hours only, so no new
  hour comes before the next one closes; rows arriving late for an hour already loaded are
  re-read at the next hour's sync (the source re-reads its last hours every run).
- zendesk: no mark (None): the live path runs because the help desk has a new ticket.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import duckdb

from altor_pipelines.clock import as_of, naive_utc
from altor_pipelines.settings import Settings
from altor_pipelines.sources.clickhouse_logs import floor_to_window
from altor_pipelines.sources.github import TERMINAL_STATES, github_client
from altor_pipelines.sources.linear import LinearClient
from altor_pipelines.sources.stripe import StripeLister
from altor_pipelines.warehouse.duckdb import sql_text

LINEAR_NEWEST_QUERY = (
    "query NewestIssue { issues(first: 1, orderBy: updatedAt) { nodes { id updatedAt } } }"
)


PROBE = {"max_retries": 0, "timeout": 10.0}  # one quick attempt (module docstring)


def stripe_mark(settings: Settings, con: duckdb.DuckDBPyConnection) -> str:
    lister = StripeLister(settings.stripe_api_base, settings.stripe_api_key, page_size=1,
                          **PROBE)
    first = next(iter(lister.pages("events", {})), [])
    return str(first[0].get("id")) if first else ""


def linear_mark(settings: Settings, con: duckdb.DuckDBPyConnection) -> str:
    client = LinearClient(settings.linear_api_url, settings.linear_api_key, **PROBE)
    nodes = (client.query("issues", LINEAR_NEWEST_QUERY, {}).get("issues") or {}).get("nodes")
    return f"{nodes[0].get('id')}@{nodes[0].get('updatedAt')}" if nodes else ""


def unsettled_deployments(con: duckdb.DuckDBPyConnection, now: datetime) -> int:
    """Deployments of the day before `now` with no terminal status in the warehouse."""
    return con.execute(sql_text("delivery/github_unsettled_deployments.sql"),
                       {"now": naive_utc(now), "terminal": sorted(TERMINAL_STATES)}).fetchone()[0]


def github_mark(settings: Settings, con: duckdb.DuckDBPyConnection) -> str | None:
    try:
        unsettled = unsettled_deployments(con, as_of(settings))
    except duckdb.CatalogException:  # no GitHub staging yet: nothing to compare with
        return None
    if unsettled:
        return None
    client = github_client(settings.github_api_url, settings.github_token, **PROBE)
    base = f"/repos/{settings.github_repo}"

    def newest(path: str, key: str) -> Any:
        data, _ = client.get_json(base + path, endpoint=base + path, params={"per_page": 1})
        if not isinstance(data, list):
            raise client.error("expected a JSON array", endpoint=base + path)
        return data[0].get(key) if data else None

    deployment = newest("/deployments", "id")
    status = newest(f"/deployments/{deployment}/statuses", "id") if deployment else None
    return (f"deployment {deployment} status {status} release {newest('/releases', 'id')} "
            f"commit {newest('/commits', 'sha')}")


def clickhouse_mark(settings: Settings, con: duckdb.DuckDBPyConnection) -> str:
    return floor_to_window(as_of(settings), timedelta(hours=1)).isoformat()


MARKS = {"stripe": stripe_mark, "linear": linear_mark, "github": github_mark,
         "clickhouse": clickhouse_mark}


def change_mark(name: str, settings: Settings, con: duckdb.DuckDBPyConnection) -> str | None:
    """The source's mark now (module docstring); None when it has none (always synced).
    `con`: the warehouse, as the live cycle holds it open."""
    mark = MARKS.get(name)
    return mark(settings, con) if mark else None
