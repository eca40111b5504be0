"""GitHub as a dlt source: deployments, their statuses, releases and commits of one repository.

These list endpoints are newest first and have no time filter, so each resource keeps a
high-water mark (the newest deployment/release id) and stops paging (`Link: rel="next"`) at the
first page that reaches it: a run with nothing new fetches one page per endpoint. Statuses are
fetched for new deployments and for those whose latest status was not yet terminal.

Commits are listed by date, but a branch merged today brings commits dated days ago, below the
newest commit already synced. So their mark is not a date: every run lists back to an overlap
window (`commit_overlap_days`, 14) before the newest commit date synced, and fetches each commit
whose sha it has not seen in that window (the shas are kept in the state); each new commit is
fetched once more for its `files`. A branch whose commits are dated before the window is missed.

Rate limits (403 or 429 with `x-ratelimit-remaining: 0` or `retry-after`) are waited out by
the shared client; a `Link: next` already followed (a page served twice) is asked for again and
never followed in a loop.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import dlt

from altor_pipelines.clock import iso_z, parse_time
from altor_pipelines.settings import Secret
from altor_pipelines.sources.http import HttpClient, Progress, as_secret
from altor_pipelines.sources.records import columns, key_column, materialize, split_valid

SOURCE = "github"
ID = key_column("id", "bigint")
TERMINAL_STATES = {"success", "failure", "error", "inactive"}
# Commits are listed back this far before the newest commit date synced (module docstring)
COMMIT_OVERLAP_DAYS = 14.0
DEPLOYMENT_COLUMNS = {**ID, **columns(sha="text", ref="text", environment="text",
                                      description="text", payload__service="text",
                                      created_at="timestamp", url="text")}


def github_client(api_url: str, token: Secret | str, backoff_seconds: float = 0.5,
                  timeout: float = 60.0, max_retries: int = 5) -> HttpClient:
    secret = as_secret(token)
    return HttpClient(
        SOURCE, api_url, {"Authorization": f"Bearer {secret.reveal()}"}, [secret],
        extra_headers={"Accept": "application/vnd.github+json",
                       "X-GitHub-Api-Version": "2022-11-28"},
        max_retries=max_retries, backoff_seconds=backoff_seconds, timeout=timeout,
    )


def committed_at(commit: dict) -> str | None:
    return ((commit.get("commit") or {}).get("committer") or {}).get("date")


def deployment_id_of(status: dict) -> int | None:
    """The deployment a status belongs to, from its `deployment_url` (…/deployments/<id>)."""
    url = status.get("deployment_url") or ""
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return int(tail) if tail.isdigit() else None


@dlt.source(name="github", max_table_nesting=2)
def github_source(api_url: str, token: Any, repo: str, page_size: int = 100,
                  backoff_seconds: float = 0.5, timeout: float = 60.0,
                  commit_overlap_days: float = COMMIT_OVERLAP_DAYS) -> Any:
    """GitHub deployments, deployment_statuses, releases, commits of `repo` ("owner/name"),
    merged on `id` (commits on `sha`); bad records go to `_quarantine`."""
    client = github_client(api_url, token, backoff_seconds, timeout)
    overlap = timedelta(days=commit_overlap_days)
    base = f"/repos/{repo}"
    per_page = min(max(page_size, 1), 100)

    def newest_first(path: str, is_new: Callable[[dict], bool], required: list[str],
                     record: Any = None, types: dict | None = None,
                     reached: Callable[[list[dict]], bool] | None = None
                     ) -> Iterator[tuple[list[dict], list[Any]]]:
        """(new records, quarantine rows) per page, until a page reaches a known record (or,
        with `reached`, until `reached(page)` says the rest is older than needed)."""
        endpoint = base + path
        url: str = endpoint
        params: dict[str, Any] | None = {"per_page": per_page}
        progress = Progress(client, endpoint, record)
        progress.moved(url)
        while True:
            data, resp = client.get_json(url, endpoint=endpoint, params=params)
            if not isinstance(data, list):
                raise client.error("expected a JSON array", endpoint=endpoint, record=record)
            good, bad = split_valid(data, required, SOURCE, endpoint, types)
            fresh = [r for r in good if is_new(r)]
            yield fresh, bad
            nxt = resp.links.get("next", {}).get("url")
            done = reached(good) if reached is not None else len(fresh) < len(good)
            if done or not nxt:
                return
            if progress.moved(nxt):
                url, params = nxt, None

    new_deployments: dict[int, tuple[list[dict], list[Any]]] = {}

    def deployments_above(max_id: int) -> tuple[list[dict], list[Any]]:
        """Deployments with id > max_id (and quarantine rows met on the way), fetched once per
        run and shared by `deployments` and `deployment_statuses`."""
        if max_id not in new_deployments:
            rows: list[dict] = []
            bad_rows: list[Any] = []
            for fresh, bad in newest_first("/deployments", lambda d: d["id"] > max_id, ["id"],
                                           types=DEPLOYMENT_COLUMNS):
                rows.extend(fresh)
                bad_rows.extend(bad)
            new_deployments[max_id] = (rows, bad_rows)
        return new_deployments[max_id]

    @dlt.resource(name="deployments", primary_key="id", write_disposition="merge",
                  columns=DEPLOYMENT_COLUMNS)
    def deployments() -> Iterator[Any]:
        yield materialize()
        state = dlt.current.resource_state()
        rows, bad = deployments_above(state.get("max_id", 0))
        if rows:
            yield rows
            state["max_id"] = max(state.get("max_id", 0), *(d["id"] for d in rows))
        yield from bad

    @dlt.resource(name="deployment_statuses", primary_key="id", write_disposition="merge",
                  columns={**ID, **columns(deployment_url="text", state="text",
                                           description="text", created_at="timestamp")})
    def deployment_statuses() -> Iterator[Any]:
        yield materialize()
        state = dlt.current.resource_state()
        seen_max = state.get("deployments_max_id", 0)
        fresh, _ = deployments_above(seen_max)
        pending: list[int] = list(state.get("pending", []))
        todo = sorted({d["id"] for d in fresh} | set(pending))
        still_pending: list[int] = []
        endpoint = base + "/deployments/{id}/statuses"
        for dep_id in todo:
            statuses: list[dict] = []
            url: str = f"{base}/deployments/{dep_id}/statuses"
            params: dict[str, Any] | None = {"per_page": per_page}
            progress = Progress(client, endpoint, dep_id)
            progress.moved(url)
            while True:
                data, resp = client.get_json(url, endpoint=endpoint, params=params,
                                             record=dep_id)
                if not isinstance(data, list):
                    raise client.error("expected a JSON array", endpoint=endpoint, record=dep_id)
                good, bad = split_valid(data, ["id"], SOURCE, endpoint)
                statuses.extend(good)
                yield from bad
                nxt = resp.links.get("next", {}).get("url")
                if not nxt:
                    break
                if progress.moved(nxt):
                    url, params = nxt, None
            if statuses:
                yield statuses
            latest = max(statuses, key=lambda s: (s.get("created_at") or "", s["id"]),
                         default=None)
            if latest is None or latest.get("state") not in TERMINAL_STATES:
                still_pending.append(dep_id)
        state["pending"] = still_pending
        if fresh:
            state["deployments_max_id"] = max(seen_max, *(d["id"] for d in fresh))

    @dlt.resource(name="releases", primary_key="id", write_disposition="merge",
                  columns={**ID, **columns(tag_name="text", name="text", body="text",
                                           html_url="text", created_at="timestamp",
                                           published_at="timestamp")})
    def releases() -> Iterator[Any]:
        yield materialize()
        state = dlt.current.resource_state()
        max_id = state.get("max_id", 0)
        newest = max_id
        for fresh, bad in newest_first("/releases", lambda r: r["id"] > max_id, ["id"]):
            if fresh:
                yield fresh
                newest = max(newest, *(r["id"] for r in fresh))
            yield from bad
        state["max_id"] = newest

    @dlt.resource(name="commits", primary_key="sha", write_disposition="merge",
                  columns={**key_column("sha", "text"),
                           **columns(commit__message="text", commit__committer__date="timestamp",
                                     html_url="text", files="json")})
    def commits() -> Iterator[Any]:
        yield materialize()
        state = dlt.current.resource_state()
        head_date = parse_time(state.get("head_date"))
        # sha -> committer date of the commits synced inside the overlap window
        seen: dict[str, str] = dict(state.get("seen") or {})
        if state.get("head_sha") and not seen:  # a mark written before the overlap window
            seen[state["head_sha"]] = state.get("head_date") or ""
        floor = head_date - overlap if head_date is not None else None

        def is_new(c: dict) -> bool:
            if c["sha"] in seen:
                return False
            date = parse_time(committed_at(c))
            return floor is None or date is None or date >= floor

        def reached(page: list[dict]) -> bool:
            return floor is not None and any(
                (d := parse_time(committed_at(c))) is not None and d < floor for c in page)

        endpoint = base + "/commits/{sha}"
        fetched: dict[str, str] = {}
        for fresh, bad in newest_first("/commits", is_new, ["sha"], reached=reached):
            yield from bad
            detailed = []
            for c in fresh:
                full, _ = client.get_json(f"{base}/commits/{c['sha']}", endpoint=endpoint,
                                          record=c["sha"])
                if not isinstance(full, dict) or full.get("sha") != c["sha"]:
                    raise client.error("commit answer does not match its sha",
                                       endpoint=endpoint, record=c["sha"], field="sha")
                detailed.append(full)
                fetched[full["sha"]] = committed_at(full) or ""
            if detailed:
                yield detailed
        dates = [d for d in map(parse_time, fetched.values()) if d is not None]
        newest = max([*dates, *([head_date] if head_date else [])], default=None)
        if newest is not None:
            keep_from = newest - overlap
            state["head_date"] = iso_z(newest)
            state["seen"] = {sha: date for sha, date in {**seen, **fetched}.items()
                             if (d := parse_time(date)) is None or d >= keep_from}
            state.pop("head_sha", None)

    return [deployments, deployment_statuses, releases, commits]
