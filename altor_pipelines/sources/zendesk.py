"""Zendesk Support as a dlt source: tickets, with their metric sets sideloaded, by the
cursor-based incremental export; ticket events, with the comments made in them sideloaded, by
the time-based export; users and organizations by their exports; groups and fields listed.

Zendesk has no export of ticket metrics or comments. Its guidance is the exports' sideloads:
the ticket export's `include=metric_sets` (a metric update moves the ticket's
`generated_timestamp`, so the export brings the ticket again) and the event export's
`include=comment_events` (every comment is made in an audit). One page of each export feeds
two tables (`ticket_export` → `tickets`, `ticket_metrics`; `ticket_event_export` →
`ticket_events`, `ticket_comments`): no request per ticket, and no run lists every metric
again, except once on a deployment that synced before metrics came with the export
(`ticket_metrics_catch_up`). Select a page's two tables together (`with_resources`): the
other's rows would be passed over with the shared cursor.

What the event export does not give, and the per-ticket comment requests of earlier versions
did: comments made before the sync start (`ALTOR_SYNC_START`) of a ticket opened before it;
later changes to a comment (made private, redacted: separate audit events); `VoiceComment`
events. The export holds back its most recent minute, so a comment reaches the warehouse at
the first sync a minute or more after it was made; until then a ticket just solved with a
public reply counts no agent reply.

Cursors are Zendesk's own: the export's opaque `after_cursor` (the first run starts from
`start_time`) and the events export's `end_time`. Both live in the resource state, which dlt
commits with the load, so a failed run leaves them where they were and a re-run repeats it.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import dlt

from altor_pipelines.settings import Secret
from altor_pipelines.sources.http import HttpClient, Progress, as_secret, require, to_unix
from altor_pipelines.sources.records import (
    checked,
    columns,
    key_column,
    materialize,
    quarantine,
    split_valid,
)

SOURCE = "zendesk"
TICKETS_EP = "/api/v2/incremental/tickets/cursor"
EVENTS_EP = "/api/v2/incremental/ticket_events"
COMMENT_EVENTS = "comment_events"  # the events export's sideload of the comments made
COMMENTS_EP = f"{EVENTS_EP}?include={COMMENT_EVENTS}"  # how errors and quarantine name it
# Zendesk's time-based exports answer nothing for the most recent minute and refuse a
# `start_time` within it; the next start is kept this far behind the last `end_time` (the
# overlap is re-read and merged on id).
EXPORT_REWIND_SECONDS = 61
TS, BIG, TXT = "timestamp", "bigint", "text"
EXPORTS = {  # resource name -> (time-based export endpoint, envelope key, column hints)
    "organizations": ("/api/v2/incremental/organizations", "organizations",
                      columns(name=TXT, external_id=TXT, created_at=TS, updated_at=TS,
                              deleted="bool")),
    "users": ("/api/v2/incremental/users", "users",
              columns(name=TXT, email=TXT, role=TXT, organization_id=BIG, created_at=TS,
                      updated_at=TS, deleted="bool")),
}
LISTS = {  # resource name -> (list endpoint, envelope key, column hints); no export exists
    "groups": ("/api/v2/groups", "groups", columns(name=TXT, created_at=TS)),
    "ticket_fields": ("/api/v2/ticket_fields", "ticket_fields", columns(title=TXT, type=TXT)),
}
ID = key_column("id", BIG)
METRIC_SETS = "metric_sets"  # the export's sideload of each ticket's TicketMetric
METRIC_SETS_EP = f"{TICKETS_EP}?include={METRIC_SETS}"  # how errors and quarantine name it
METRICS_LIST_EP = "/api/v2/ticket_metrics"
METRIC_COLUMNS = {
    **ID,
    **columns(ticket_id=BIG, replies=BIG, reopens=BIG, group_stations=BIG,
              assignee_stations=BIG, reply_time_in_minutes__calendar=BIG,
              reply_time_in_minutes__business=BIG,
              first_resolution_time_in_minutes__calendar=BIG,
              first_resolution_time_in_minutes__business=BIG,
              full_resolution_time_in_minutes__calendar=BIG,
              full_resolution_time_in_minutes__business=BIG,
              solved_at=TS, created_at=TS),
    # a ticket changed while the export is paged comes twice in one run: the newer set wins
    "updated_at": {"data_type": TS, "nullable": True, "dedup_sort": "desc"},
}
EVENT_COLUMNS = {**ID, **columns(child_events="json", ticket_id=BIG, updater_id=BIG,
                                 timestamp=BIG, created_at=TS, event_type=TXT)}
COMMENT_COLUMNS = {**ID, **columns(ticket_id=BIG, author_id=BIG, public="bool", body=TXT,
                                   created_at=TS)}
TICKET_COLUMNS = {
    **ID,
    **columns(organization_id=BIG, requester_id=BIG, submitter_id=BIG, assignee_id=BIG,
              group_id=BIG, subject=TXT, description=TXT, status=TXT, priority=TXT, type=TXT,
              via__channel=TXT, created_at=TS, updated_at=TS, tags="json",
              custom_fields="json"),
    "generated_timestamp": {"data_type": BIG, "nullable": True, "dedup_sort": "desc"},
}


def _children(audit: dict) -> list | None:
    """An audit's child events ([] when absent); None when they are not a list."""
    kids = audit.get("child_events")
    if kids is None:
        return []
    return kids if isinstance(kids, list) else None


def _is_comment(child: Any) -> bool:
    return isinstance(child, dict) and child.get("event_type") == "Comment"


_EVENT_KEYS = ("event_type", "comment_id", "field_name", "value", "previous_value")


def comment_row(audit: dict, child: dict) -> dict:
    """A `ticket_comments` row from a `Comment` child of an audit: the comment's fields, its id
    the comment's (`comment_id`; Zendesk's own events give it as the event's `id`)."""
    row = {k: v for k, v in child.items() if k not in _EVENT_KEYS}
    row["id"] = child.get("comment_id", child.get("id"))
    row["ticket_id"] = audit.get("ticket_id")
    row["created_at"] = child.get("created_at") or audit.get("created_at")
    return row


def zendesk_client(base_url: str, email: str, token: Secret | str, auth: str = "bearer",
                   **kwargs: Any) -> HttpClient:
    """`auth="bearer"` (OAuth token, the demo servers) or `"basic"` (API token:
    `email/token:token`, production Zendesk)."""
    secret = as_secret(token)
    if auth == "basic":
        raw = base64.b64encode(f"{email}/token:{secret.reveal()}".encode()).decode()
        headers = {"Authorization": f"Basic {raw}"}
        extra = [Secret(raw)]
    elif auth == "bearer":
        headers = {"Authorization": f"Bearer {secret.reveal()}"}
        extra = []
    else:
        raise ValueError(f"unknown Zendesk auth scheme {auth!r} (bearer or basic)")
    return HttpClient(SOURCE, base_url, headers, [secret, *extra],
                      extra_headers={"Accept": "application/json"}, **kwargs)


def _cursor_pages(client: HttpClient, path: str, key: str, page_size: int, endpoint: str,
                  record: Any = None) -> Iterator[list]:
    """Zendesk cursor pagination: `page[size]` (≤100), `meta.has_more`, `links.next`."""
    url: str = path
    params: dict[str, Any] | None = {"page[size]": min(page_size, 100)}
    progress = Progress(client, endpoint, record)
    progress.moved((url, params))
    while True:
        data, _ = client.get_json(url, endpoint=endpoint, params=params, record=record)
        rows = require(data, key, client, endpoint)
        if not isinstance(rows, list):
            raise client.error("expected a list", endpoint=endpoint, record=record, field=key)
        yield rows
        meta = data.get("meta") or {}
        if not meta.get("has_more"):
            return
        nxt = (data.get("links") or {}).get("next")
        if nxt:
            step: tuple[str, dict[str, Any] | None] = (nxt, None)
        elif meta.get("after_cursor"):
            step = (path, {"page[size]": min(page_size, 100),
                           "page[after]": meta["after_cursor"]})
        else:
            raise client.error("has_more without a next cursor", endpoint=endpoint,
                               field="meta.after_cursor")
        if progress.moved(step):
            url, params = step


@dlt.source(name="zendesk", max_table_nesting=2)
def zendesk_source(
    base_url: str,
    email: str,
    token: Any,
    start_time: datetime,
    page_size: int = 1000,
    auth: str = "bearer",
    backoff_seconds: float = 0.5,
    timeout: float = 60.0,
) -> Any:
    """Zendesk tickets, ticket_metrics, ticket_events, ticket_comments, organizations, users,
    groups, ticket_fields; every table merged on `id` (bad records to `_quarantine`)."""
    client = zendesk_client(base_url, email, token, auth, backoff_seconds=backoff_seconds,
                            timeout=timeout)
    start_ts = to_unix(start_time)

    @dlt.resource(name="ticket_export", selected=False)
    def ticket_export() -> Iterator[dict[str, list]]:
        """The export's pages: `{"tickets": [...], "metric_sets": [...]}`. The cursor is kept
        in the `tickets` resource's state, where a deployment's cursor already is."""
        state = dlt.current.resource_state("tickets")
        if not state.get("cursor"):  # a first sync: every ticket comes with its metric set
            state[METRIC_SETS] = True
        first: dict[str, Any] = {"per_page": page_size, "include": METRIC_SETS}
        params = ({**first, "cursor": state["cursor"]} if state.get("cursor")
                  else {**first, "start_time": start_ts})
        progress = Progress(client, TICKETS_EP)
        progress.moved(params.get("cursor"))
        while True:
            data, _ = client.get_json(TICKETS_EP, endpoint=TICKETS_EP, params=params)
            page = {"tickets": require(data, "tickets", client, TICKETS_EP),
                    METRIC_SETS: require(data, METRIC_SETS, client, METRIC_SETS_EP)}
            for key, endpoint in (("tickets", TICKETS_EP), (METRIC_SETS, METRIC_SETS_EP)):
                if not isinstance(page[key], list):
                    raise client.error("expected a list", endpoint=endpoint, field=key)
            yield page
            after = data.get("after_cursor")
            if data.get("end_of_stream", True) or not after:
                if after:
                    state["cursor"] = after
                return
            if progress.moved(after):
                state["cursor"] = after
                params = {**first, "cursor": after}

    @dlt.transformer(name="tickets", data_from=ticket_export, primary_key="id",
                     write_disposition="merge", columns=TICKET_COLUMNS)
    def tickets(page: dict[str, list]) -> Iterator[Any]:
        yield materialize()
        yield from checked(page["tickets"], ["id"], SOURCE, TICKETS_EP, TICKET_COLUMNS)

    @dlt.transformer(name="ticket_metrics", data_from=ticket_export, primary_key="id",
                     write_disposition="merge", columns=METRIC_COLUMNS)
    def ticket_metrics(page: dict[str, list]) -> Iterator[Any]:
        yield materialize()
        yield from checked(page[METRIC_SETS], ["id", "ticket_id"], SOURCE, METRIC_SETS_EP,
                           METRIC_COLUMNS)

    @dlt.resource(name="ticket_metrics_catch_up", table_name="ticket_metrics",
                  primary_key="id", write_disposition="merge", columns=METRIC_COLUMNS)
    def ticket_metrics_catch_up() -> Iterator[Any]:
        """Every metric, listed once, on a deployment whose ticket cursor moved while metrics
        did not come with the export (earlier versions; their live path synced tickets without
        metrics): the updates it passed over are loaded. A first sync needs none; the flag is
        set by whichever of this and `ticket_export` runs first."""
        yield materialize()
        state = dlt.current.resource_state("tickets")
        if state.get("cursor") and not state.get(METRIC_SETS):
            yield from listed(METRICS_LIST_EP, "ticket_metrics", METRIC_COLUMNS)
        state[METRIC_SETS] = True

    def time_pages(endpoint: str, key: str, first_start: int, state: dict,
                   include: str | None = None) -> Iterator[list]:
        """A time-based export's pages from the stored `start_time` (first run: `first_start`);
        the next start is kept in `state` as each page arrives."""
        start = int(state.get("start_time", first_start))
        url: str = endpoint
        params: dict[str, Any] | None = {"start_time": start, "per_page": page_size,
                                         **({"include": include} if include else {})}
        progress = Progress(client, endpoint)
        progress.moved(start)
        while True:
            data, _ = client.get_json(url, endpoint=endpoint, params=params)
            rows = require(data, key, client, endpoint)
            if not isinstance(rows, list):
                raise client.error("expected a list", endpoint=endpoint, field=key)
            yield rows
            end_time = data.get("end_time")
            if end_time is not None:
                state["start_time"] = max(start, int(end_time) - EXPORT_REWIND_SECONDS)
            nxt = data.get("next_page")
            if data.get("end_of_stream", True) or not nxt:
                return
            if progress.moved(end_time if end_time is not None else nxt):
                # the sideload is asked for again if a next page's URL has dropped it: without
                # it a page still answers, only with nothing sideloaded
                url, params = nxt, ({"include": include}
                                    if include and "include=" not in nxt else None)

    def time_export(endpoint: str, key: str, required: list[str],
                    first_start: int, types: dict | None = None) -> Iterator[Any]:
        """A time-based export's valid records (the others quarantined)."""
        yield materialize()
        for rows in time_pages(endpoint, key, first_start, dlt.current.resource_state()):
            yield from checked(rows, required, SOURCE, endpoint, types or {})

    @dlt.resource(name="ticket_event_export", selected=False)
    def ticket_event_export() -> Iterator[list]:
        """The events export's pages, each audit with its `Comment` children (the
        `comment_events` sideload). The start is kept in the `ticket_events` resource's state,
        where a deployment's already is."""
        yield from time_pages(EVENTS_EP, "ticket_events", start_ts,
                              dlt.current.resource_state("ticket_events"), COMMENT_EVENTS)

    @dlt.transformer(name="ticket_events", data_from=ticket_event_export, primary_key="id",
                     write_disposition="merge", columns=EVENT_COLUMNS)
    def ticket_events(page: list) -> Iterator[Any]:
        """The audits, without their comments (those are `ticket_comments`' rows)."""
        yield materialize()
        good, bad = split_valid(page, ["id", "ticket_id"], SOURCE, EVENTS_EP, EVENT_COLUMNS)
        audits = []
        for e in good:
            kids = _children(e)
            if kids is None:
                bad.append(quarantine(SOURCE, EVENTS_EP, e, "child_events is not a list",
                                      "child_events"))
            else:
                audits.append({**e, "child_events": [c for c in kids if not _is_comment(c)]})
        if audits:
            yield audits
        yield from bad

    def legacy_pending_comments() -> Iterator[Any]:
        """Earlier versions fetched comments per ticket and kept the tickets whose comments
        were refused (403/404) to retry them; the event export does not read such old
        comments, so each such ticket becomes a `_quarantine` row once, not a silent gap."""
        for tid in sorted(dlt.current.source_state().pop("comments_pending", None) or {},
                          key=str):
            yield quarantine(SOURCE, "/api/v2/tickets/{ticket_id}/comments",
                             {"ticket_id": tid}, "comments an earlier version could not read "
                             "and the event export does not bring: read the ticket by hand",
                             "comments")

    @dlt.transformer(name="ticket_comments", data_from=ticket_event_export, primary_key="id",
                     write_disposition="merge", columns=COMMENT_COLUMNS)
    def ticket_comments(page: list) -> Iterator[Any]:
        """Every comment made in the page's audits (a malformed audit is quarantined by
        `ticket_events`)."""
        yield materialize()
        yield from legacy_pending_comments()
        rows = [comment_row(e, c) for e in page if isinstance(e, dict)
                for c in _children(e) or [] if _is_comment(c)]
        yield from checked(rows, ["id", "ticket_id"], SOURCE, COMMENTS_EP, COMMENT_COLUMNS)

    def exported(name: str, path: str, key: str, hints: dict) -> Any:
        def rows() -> Iterator[Any]:
            # dimensions are wanted whole, however old: their export starts at the epoch
            yield from time_export(path, key, ["id"], 0, {**ID, **hints})

        return dlt.resource(rows, name=name, primary_key="id", write_disposition="merge",
                            columns={**ID, **hints})

    def listed(path: str, key: str, hints: dict) -> Iterator[Any]:
        """Every object of a list endpoint (the list has no export)."""
        for page in _cursor_pages(client, path, key, page_size, path):
            yield from checked(page, ["id"], SOURCE, path, {**ID, **hints})

    def listing(name: str, path: str, key: str, hints: dict) -> Any:
        def rows() -> Iterator[Any]:
            yield materialize()
            yield from listed(path, key, hints)

        return dlt.resource(rows, name=name, primary_key="id", write_disposition="merge",
                            columns={**ID, **hints})

    return [ticket_export, tickets, ticket_metrics, ticket_metrics_catch_up,
            ticket_event_export, ticket_events, ticket_comments,
            *(exported(n, p, k, h) for n, (p, k, h) in EXPORTS.items()),
            *(listing(n, p, k, h) for n, (p, k, h) in LISTS.items())]
