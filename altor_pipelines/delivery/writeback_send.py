"""Sending the planned notes: each PUT once per attempt, after a look for the note's marker on
the ticket, so a note is never posted twice; failures stay on record and are retried."""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

import duckdb

from altor_pipelines.clock import naive_utc
from altor_pipelines.delivery.note import (
    MARKER,
)
from altor_pipelines.delivery.redact import redact
from altor_pipelines.delivery.writeback_plan import DeliveryResult, ensure_tables, rows_of
from altor_pipelines.errors import AltorError, WriteBackError
from altor_pipelines.sources.http import HttpClient, Progress
from altor_pipelines.warehouse.duckdb import sql_text

log = logging.getLogger(__name__)


def _already_there(client: HttpClient, ticket_id: int, fp: str) -> dict[str, Any] | None:
    """The comment on the ticket carrying this diagnosis' marker, if any."""
    path = f"/api/v2/tickets/{ticket_id}/comments"
    endpoint = "/api/v2/tickets/{id}/comments"
    params: dict[str, Any] | None = {"page[size]": 100}
    url = path
    progress = Progress(client, endpoint, ticket_id)
    progress.moved(url)
    while True:
        data, _ = client.get_json(url, endpoint=endpoint, params=params, record=ticket_id)
        if not isinstance(data, dict):
            raise client.error("comments answer is not an object", endpoint=endpoint,
                               record=ticket_id)
        for c in data.get("comments") or []:
            text = (c.get("body") or "") + (c.get("html_body") or "")
            if f"{MARKER}{fp}" in text:
                return c
        nxt = (data.get("links") or {}).get("next")
        if not (data.get("meta") or {}).get("has_more") or not nxt:
            return None
        if progress.moved(nxt):
            url, params = nxt, None


# A PUT refused with these will be refused again: no resend.
PERMANENT = frozenset({400, 401, 403, 404, 409, 422})


def _put_once_only(client: HttpClient, tid: int, fp: str, request: dict[str, Any]
                   ) -> tuple[Any, str | None]:
    """Post the note unless the help desk already has it; (comment id, written at)."""
    endpoint = "/api/v2/tickets/{id}"
    attempt = 0
    while True:
        attempt += 1
        found = _already_there(client, tid, fp)
        if found is not None:
            return found.get("id"), found.get("created_at")
        try:
            resp = client.request("PUT", f"/api/v2/tickets/{tid}", endpoint=endpoint,
                                  record=tid, json_body=request, retries=0, parse_json=True)
        except AltorError as exc:
            if getattr(exc, "status", None) in PERMANENT or attempt > client.max_retries:
                raise
            # the PUT may have been applied before the failure: the check above runs again
            client.backoff(attempt, endpoint, str(exc)[:80])
            continue
        body = resp.parsed if isinstance(resp.parsed, dict) else {}  # type: ignore[attr-defined]
        audit = body.get("audit") or {}
        comment_id = next(
            (e.get("id") for e in audit.get("events") or [] if e.get("type") == "Comment"), None)
        return comment_id, audit.get("created_at") or (body.get("ticket") or {}).get("updated_at")


def send_pending(
    con: duckdb.DuckDBPyConnection,
    client: HttpClient,
    result: DeliveryResult | None = None,
    on_written: Any = None,
) -> DeliveryResult:
    """Send every pending or failed note (oldest first). `on_written(ticket_id)` is called
    right after each successful write (the benchmark timestamps notes with it)."""
    ensure_tables(con)
    result = result or DeliveryResult()
    todo = rows_of(con.execute(sql_text("delivery/notes_to_send.sql")))
    for w in todo:
        tid, fp, attempts = w["ticket_id"], w["fingerprint"], w["attempts"]
        if attempts > 0:
            result.retried += 1
        # The attempt is on record before anything is sent: a crash from here on leaves a row
        # whose next attempt starts with the check for the marker.
        con.execute(
            "UPDATE delivery.writebacks SET attempts = attempts + 1 "
            "WHERE ticket_id = ? AND fingerprint = ?",
            [tid, fp],
        )
        try:
            comment_id, written_at = _put_once_only(client, tid, fp, json.loads(w["request"]))
            when = (
                datetime.fromisoformat(str(written_at).replace("Z", "+00:00"))
                if written_at else None
            )
        except (AltorError, ValueError) as exc:
            err = WriteBackError(f"ticket {tid}: {redact(str(exc), client.secrets)}")
            log.warning("write-back failed: %s", err)
            con.execute(sql_text("delivery/mark_note_failed.sql"),
                        {"error": str(err)[:1000], "ticket_id": tid, "fingerprint": fp})
            result.failed += 1
            continue
        con.execute(sql_text("delivery/mark_note_written.sql"),
                    {"written_at": naive_utc(when), "comment_id": comment_id, "ticket_id": tid,
                     "fingerprint": fp})
        result.written += 1
        result.written_tickets.append(tid)
        if json.loads(w["request"])["ticket"].get("group_id") is not None:
            result.rerouted += 1
        if on_written is not None:
            on_written(tid)
    return result
