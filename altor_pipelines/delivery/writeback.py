"""Idempotent write-back of diagnoses to the help desk: one internal note per distinct
diagnosis, plus tags (and optional custom fields) for views and routing.

- A diagnosis' *fingerprint* hashes what an agent would act on: cause (or, abstaining, the
  leading hypothesis and the fact of abstaining), confidence band, escalate, the evidence ids
  the note cites, the model version. It is the key of `delivery.writebacks` and is printed in
  the note (`altor-diagnosis:<fingerprint>`).
- Same fingerprint already written: nothing is sent. A new fingerprint for a ticket that has a
  note: one `update` note saying what changed. Otherwise an `initial` note.
- Every note is first stored as a `pending` row holding the exact request. Before every PUT
  (the first one too, and each resend) the ticket's comments are read for the note's marker:
  a note already there is recorded, not posted again. So a kill between the PUT and the
  `written` update, a 5xx/timeout/cut body after the help desk applied the PUT, or a failure
  after it, never posts twice: the next attempt finds the marker. The PUT itself is sent once
  per attempt (the client never resends it blindly); transient failures (5xx, 429, connection,
  a cut or non-JSON body) are retried up to `max_retries` times with backoff, each time after
  the check. A failure beyond that leaves the row `failed` with the error; every later run
  retries pending and failed rows.
- Tags: `altor_cause_<cause>` (or `altor_abstained`), `altor_confidence_<band>`,
  `altor_escalate` / `altor_no_escalate`; tags of an earlier diagnosis are removed. A
  misrouted ticket is moved to the group learned from history (routing.py).
- The root-cause field agents fill at resolution is never written: it is the label the model
  learns from.
"""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb

from altor_pipelines.clock import naive_utc
from altor_pipelines.delivery.note import (
    MARKER,
    Diagnosis,
    decisive_evidence,
    describe_changes,
    evidence_id,
    render_note,
)
from altor_pipelines.delivery.playbook import (
    Playbook,
    evidence_details,
    learn_playbook,
    save_playbook,
    slot_fills,
)
from altor_pipelines.delivery.redact import redact
from altor_pipelines.delivery.routing import GroupRouter, learn_router
from altor_pipelines.errors import AltorError, WriteBackError
from altor_pipelines.sources.http import HttpClient, Progress
from altor_pipelines.sources.zendesk import zendesk_client
from altor_pipelines.taxonomy import CAUSES
from altor_pipelines.warehouse.duckdb import sql_text

log = logging.getLogger(__name__)

BANDS = ("high", "medium", "low")
ALL_TAGS = (
    [f"altor_cause_{c}" for c in CAUSES]
    + [f"altor_confidence_{b}" for b in BANDS]
    + ["altor_escalate", "altor_no_escalate", "altor_abstained"]
)


@dataclass
class WritebackConfig:
    since: datetime | None = None  # deliver tickets created at or after (go-live)
    ticket_ids: list[int] | None = None  # only these tickets (the live path)
    author_id: int | None = None  # the help-desk user notes are written as
    field_ids: dict[str, int] = field(default_factory=dict)  # cause/confidence/escalate fields
    route_misrouted: bool = True
    max_retries: int = 3  # HTTP retries within one run
    backoff_seconds: float = 0.5


@dataclass
class DeliveryResult:
    considered: int = 0
    unchanged: int = 0
    initial: int = 0
    updates: int = 0
    written: int = 0
    failed: int = 0
    retried: int = 0
    rerouted: int = 0
    written_tickets: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "written_tickets"}


def fingerprint(d: Diagnosis, evidence_ids: list[str]) -> str:
    key = {
        "cause": d.cause,
        "shown": d.shown_cause,
        "abstained": d.abstained,
        "band": d.confidence_band,
        "escalate": d.escalate,
        "evidence": sorted(set(evidence_ids)),
        "model": d.model_version,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def tags_for(d: Diagnosis) -> list[str]:
    return [
        f"altor_cause_{d.cause}" if d.cause else "altor_abstained",
        f"altor_confidence_{d.confidence_band}",
        "altor_escalate" if d.escalate else "altor_no_escalate",
    ]


def ensure_tables(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA IF NOT EXISTS delivery")
    con.execute(sql_text("delivery/writebacks_table.sql"))


def _rows(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]


def build_request(
    d: Diagnosis,
    note_body: str,
    note_html: str,
    config: WritebackConfig,
    group: tuple[int, str, int] | None,
) -> dict[str, Any]:
    """The Zendesk ticket update: internal note, tags, optional fields, group for misrouted."""
    tags = tags_for(d)
    comment: dict[str, Any] = {"body": note_body, "html_body": note_html, "public": False}
    if config.author_id is not None:
        comment["author_id"] = config.author_id
    ticket: dict[str, Any] = {
        "comment": comment,
        "additional_tags": tags,
        "remove_tags": [t for t in ALL_TAGS if t not in tags],
    }
    fields = []
    for name, value in (
        ("cause", d.cause or "abstained"),
        ("confidence", d.confidence_band),
        ("escalate", "yes" if d.escalate else "no"),
    ):
        if name in config.field_ids:
            fields.append({"id": config.field_ids[name], "value": value})
    if fields:
        ticket["custom_fields"] = fields
    if group is not None:
        ticket["group_id"] = group[0]
    return {"ticket": ticket}


def plan_notes(
    con: duckdb.DuckDBPyConnection,
    config: WritebackConfig,
    as_of: datetime,
    playbook: Playbook | None = None,
    router: GroupRouter | None = None,
    result: DeliveryResult | None = None,
) -> DeliveryResult:
    """Turn the latest diagnoses into pending `delivery.writebacks` rows (nothing is sent)."""
    ensure_tables(con)
    result = result or DeliveryResult()
    now = naive_utc(as_of)
    diagnoses = _rows(
        con.execute(
            sql_text("delivery/latest_diagnoses.sql"),
            {"since": config.since, "ticket_ids": config.ticket_ids},
        )
    )
    result.considered = len(diagnoses)
    if not diagnoses:
        return result
    ids = [r["ticket_id"] for r in diagnoses]
    evidence: dict[int, list[dict[str, Any]]] = {}
    for e in _rows(
        con.execute("SELECT * FROM heuristics.evidence WHERE list_contains(?, ticket_id)", [ids])
    ):
        evidence.setdefault(e["ticket_id"], []).append(e)
    history: dict[int, list[dict[str, Any]]] = {}
    for w in _rows(
        con.execute(
            "SELECT * FROM delivery.writebacks WHERE list_contains(?, ticket_id) "
            "ORDER BY created_at, note_kind",
            [ids],
        )
    ):
        history.setdefault(w["ticket_id"], []).append(w)
    playbook = playbook if playbook is not None else learn_playbook(con)
    router = router if router is not None or not config.route_misrouted else learn_router(con)
    for row in diagnoses:
        d = Diagnosis.from_row(row)
        ev = evidence.get(d.ticket_id, [])
        shown = decisive_evidence(d, ev)
        fp = fingerprint(d, [evidence_id(e) for e in shown])
        past = history.get(d.ticket_id, [])
        written = sorted(
            (w for w in past if w["status"] == "written"),
            key=lambda w: (w["written_at"] or w["created_at"], w["created_at"]),
        )
        if (written and written[-1]["fingerprint"] == fp) or any(
            w["fingerprint"] == fp and w["status"] in ("pending", "failed") for w in past
        ):
            result.unchanged += 1
            continue
        changes = None
        if written:
            last = written[-1]
            changes = describe_changes(
                last,
                {
                    "cause": d.cause,
                    "confidence_band": d.confidence_band,
                    "escalate": d.escalate,
                    "evidence_ids": [evidence_id(e) for e in shown],
                    "model_version": d.model_version,
                },
            ) or ["the evidence was re-evaluated"]
        for w in past:  # a newer diagnosis replaces one never delivered
            if w["status"] in ("pending", "failed"):
                con.execute(
                    "UPDATE delivery.writebacks SET status = 'superseded' "
                    "WHERE ticket_id = ? AND fingerprint = ?",
                    [d.ticket_id, w["fingerprint"]],
                )
        # a diagnosis that comes back after another one was delivered is noted again
        con.execute(
            "DELETE FROM delivery.writebacks WHERE ticket_id = ? AND fingerprint = ?",
            [d.ticket_id, fp],
        )
        group = None
        if d.action == "reroute" and d.cause == "misrouted" and router is not None:
            group = router.suggest(row["text"], row.get("group_id"), exclude_ticket=d.ticket_id)
        details = evidence_details(
            con, sorted({str(e["object_id"]) for e in shown if e.get("object_id")}), now
        )
        reply = playbook.reply(d.cause, slot_fills(shown, details)) if not d.abstained else None
        note = render_note(d, ev, reply, fp, changes=changes, group=group)
        request = build_request(d, note.body, note.html_body, config, group)
        con.execute(
            "INSERT INTO delivery.writebacks VALUES (?, ?, ?, 'pending', 0, NULL, NULL, ?, ?, ?, "
            "?, ?, ?, ?, ?, NULL, ?)",
            [
                d.ticket_id,
                fp,
                "update" if written else "initial",
                d.model_version,
                d.cause,
                d.shown_cause,
                d.confidence_band,
                d.escalate,
                note.evidence_ids,
                group[0] if group else None,
                json.dumps(request),
                now,
            ],
        )
        if written:
            result.updates += 1
        else:
            result.initial += 1
    return result


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
    todo = _rows(
        con.execute(
            "SELECT ticket_id, fingerprint, attempts, request, status "
            "FROM delivery.writebacks WHERE status IN ('pending', 'failed') "
            "ORDER BY created_at, ticket_id"
        )
    )
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
            con.execute(
                "UPDATE delivery.writebacks SET status = 'failed', last_error = ? "
                "WHERE ticket_id = ? AND fingerprint = ?",
                [str(err)[:1000], tid, fp],
            )
            result.failed += 1
            continue
        con.execute(
            "UPDATE delivery.writebacks SET status = 'written', "
            "written_at = ?, comment_id = ? WHERE ticket_id = ? AND fingerprint = ?",
            [naive_utc(when), comment_id, tid, fp],
        )
        result.written += 1
        result.written_tickets.append(tid)
        if json.loads(w["request"])["ticket"].get("group_id") is not None:
            result.rerouted += 1
        if on_written is not None:
            on_written(tid)
    return result


def deliver(
    con: duckdb.DuckDBPyConnection,
    client: HttpClient,
    config: WritebackConfig,
    as_of: datetime | None = None,
    playbook: Playbook | None = None,
    on_written: Any = None,
) -> DeliveryResult:
    """Plan notes for the latest diagnoses, then send everything pending. The asset and the
    live path both call this."""
    as_of = as_of or datetime.now(UTC)
    if playbook is None:
        playbook = learn_playbook(con)
        save_playbook(con, playbook, naive_utc(as_of))
    result = plan_notes(con, config, as_of, playbook)
    return send_pending(con, client, result, on_written)


def writeback_client(settings: Any, config: WritebackConfig | None = None) -> HttpClient:
    """The Zendesk HTTP client (the sources' client: retries, backoff, secrets redacted)."""
    config = config or WritebackConfig()
    auth = "basic" if "zendesk.com" in settings.zendesk_base_url else "bearer"
    return zendesk_client(
        settings.zendesk_base_url,
        settings.zendesk_email,
        settings.zendesk_token,
        auth,
        max_retries=config.max_retries,
        backoff_seconds=config.backoff_seconds,
    )
