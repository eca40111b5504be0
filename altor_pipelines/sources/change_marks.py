"""Change marks: per source, the cheapest question that tells whether an incremental sync would
bring anything new, so the live path (delivery/live.py) skips a sync that would not.

A dlt run costs ~0.3-0.5 s even when it brings nothing (state, extract, normalize, load), and
the live path used to run four of them per new ticket. A mark is a short string built from one
to four small requests (or none); when it equals the mark stored at the last sync, that sync
is skipped. What a mark cannot see is bounded by the live path's maximum age
(`ALTOR_LIVE_SYNC_MAX_AGE_MINUTES`): past it a source is synced whatever its mark says.

- stripe: the newest event's id. Every change to a Stripe object is an event (the source reads
  changes from the events too), so a new event id is the only sign of change it needs.
- linear: the most recently updated issue (id, updatedAt). Teams, states and labels change
  rarely: the maximum age covers them.
- github: the newest deployment, its newest status, the newest release and commit. A status
  added to an older deployment while a newer one exists is left to the maximum age.
- clickhouse: the last closed hour at the clock. The source loads closed hours only, so nothing
  new can come before the next hour closes (late rows are re-read within the maximum age).
- zendesk: no mark (None): the live path runs because the help desk has a new ticket.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from altor_pipelines.clock import as_of
from altor_pipelines.settings import Settings
from altor_pipelines.sources.clickhouse_logs import floor_to_window
from altor_pipelines.sources.github import github_client
from altor_pipelines.sources.linear import LinearClient
from altor_pipelines.sources.stripe import StripeLister

LINEAR_NEWEST_QUERY = (
    "query NewestIssue { issues(first: 1, orderBy: updatedAt) { nodes { id updatedAt } } }"
)


def stripe_mark(settings: Settings) -> str:
    lister = StripeLister(settings.stripe_api_base, settings.stripe_api_key, page_size=1)
    first = next(iter(lister.pages("events", {})), [])
    return str(first[0].get("id")) if first else ""


def linear_mark(settings: Settings) -> str:
    client = LinearClient(settings.linear_api_url, settings.linear_api_key)
    nodes = (client.query("issues", LINEAR_NEWEST_QUERY, {}).get("issues") or {}).get("nodes")
    return f"{nodes[0].get('id')}@{nodes[0].get('updatedAt')}" if nodes else ""


def github_mark(settings: Settings) -> str:
    client = github_client(settings.github_api_url, settings.github_token)
    base = f"/repos/{settings.github_repo}"

    def newest(path: str, key: str) -> Any:
        data, _ = client.get_json(base + path, endpoint=base + path, params={"per_page": 1})
        return data[0].get(key) if isinstance(data, list) and data else None

    deployment = newest("/deployments", "id")
    status = newest(f"/deployments/{deployment}/statuses", "id") if deployment else None
    return (f"deployment {deployment} status {status} release {newest('/releases', 'id')} "
            f"commit {newest('/commits', 'sha')}")


def clickhouse_mark(settings: Settings) -> str:
    return floor_to_window(as_of(settings), timedelta(hours=1)).isoformat()


MARKS = {"stripe": stripe_mark, "linear": linear_mark, "github": github_mark,
         "clickhouse": clickhouse_mark}


def change_mark(name: str, settings: Settings) -> str | None:
    """The source's mark now (module docstring); None when it has none (always synced)."""
    mark = MARKS.get(name)
    return mark(settings) if mark else None
