"""Planning the write-back: which diagnoses need a note (by fingerprint), the note and the ticket
update, stored as `pending` rows of `delivery.writebacks` (nothing is sent here)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from altor_pipelines.clock import naive_utc
from altor_pipelines.delivery.note import (
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
    slot_fills,
)
from altor_pipelines.delivery.routing import GroupRouter, learn_router
from altor_pipelines.taxonomy import CAUSES
from altor_pipelines.warehouse.duckdb import sql_text

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


def rows_of(cur: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
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
    diagnoses = rows_of(
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
    for e in rows_of(con.execute(sql_text("delivery/tickets_evidence.sql"), {"ticket_ids": ids})):
        evidence.setdefault(e["ticket_id"], []).append(e)
    history: dict[int, list[dict[str, Any]]] = {}
    for w in rows_of(con.execute(sql_text("delivery/writeback_history.sql"), {"ticket_ids": ids})):
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
        con.execute(sql_text("delivery/insert_pending_note.sql"), {
            "ticket_id": d.ticket_id, "fingerprint": fp,
            "note_kind": "update" if written else "initial", "model_version": d.model_version,
            "cause": d.cause, "shown_cause": d.shown_cause,
            "confidence_band": d.confidence_band, "escalate": d.escalate,
            "evidence_ids": note.evidence_ids, "group_id": group[0] if group else None,
            "request": json.dumps(request), "created_at": now})
        if written:
            result.updates += 1
        else:
            result.initial += 1
    return result
