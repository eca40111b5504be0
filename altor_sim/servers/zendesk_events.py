"""The Zendesk ticket event stream (`incremental/ticket_events`): one audit per ticket version,
derived from the version before it."""

from __future__ import annotations

from typing import Any

from altor_sim.world.reader import Version, iso

# Ticket fields whose changes become `Change` child events in the ticket event stream.
TRACKED = ("subject", "status", "priority", "type", "group_id", "assignee_id", "requester_id",
           "organization_id", "problem_id", "due_at", "tags")


def as_text(v: Any) -> Any:
    """A field value as the event stream's `value` shows it (lists space-separated)."""
    if v is None:
        return None
    if isinstance(v, list):
        return " ".join(str(x) for x in v)
    if isinstance(v, bool):
        return str(v).lower()
    return str(v)


def comment_child(audit_id: int, n: int, comment: dict) -> dict:
    """A `Comment` child event (the `comment_events` sideload): the comment as it was made,
    its own id as `comment_id`."""
    fields = {k: v for k, v in comment.items() if k not in ("id", "ticket_id", "type")}
    return {**fields, "id": audit_id * 100 + n, "event_type": "Comment",
            "comment_id": comment["id"]}


def comment_audit(tid: Any, comment: dict, v: Version) -> dict:
    """The audit of a comment made when its ticket had no version of its own (a world may
    write comments between ticket versions; Zendesk makes every comment in an audit)."""
    return {"id": v.vid, "ticket_id": tid, "timestamp": int(v.at), "created_at": iso(v.at),
            "updater_id": comment.get("author_id", -1), "via": {"channel": "api"},
            "event_type": "Audit", "system": {}, "metadata": {},
            "child_events": [comment_child(v.vid, 1, comment)]}


def audit_event(tid: Any, v: Version, prev: dict | None, cur: dict,
                comments: list[dict], updaters: dict[int, Any]) -> dict:
    """The audit event of one ticket version: `Create` children for a new ticket, `Change`
    children for the tracked fields and custom fields that changed, a `Comment` child for each
    comment made with it (given only when the export asks for the comment sideload)."""
    children = []
    n = 0

    def child(kind: str, field: str, value: Any, previous: Any = None) -> None:
        nonlocal n
        n += 1
        c = {"id": v.vid * 100 + n, "via": cur.get("via", {}).get("channel", "api")
             if isinstance(cur.get("via"), dict) else "api",
             "event_type": kind, "field_name": field, "value": as_text(value), field: value}
        if kind == "Change":
            c["previous_value"] = as_text(previous)
        children.append(c)

    old_cf = {f["id"]: f.get("value") for f in (prev or {}).get("custom_fields") or []}
    new_cf = {f["id"]: f.get("value") for f in cur.get("custom_fields") or []}
    if prev is None:
        for f in TRACKED:
            if cur.get(f) not in (None, []):
                child("Create", f, cur.get(f))
        for fid, val in new_cf.items():
            if val is not None:
                child("Create", str(fid), val)
    else:
        for f in TRACKED:
            if cur.get(f) != prev.get(f):
                child("Change", f, cur.get(f), prev.get(f))
        for fid in sorted(set(old_cf) | set(new_cf), key=str):
            if old_cf.get(fid) != new_cf.get(fid):
                child("Change", str(fid), new_cf.get(fid), old_cf.get(fid))
    for comment in comments:
        n += 1
        children.append(comment_child(v.vid, n, comment))
    if prev is None:
        updater = cur.get("submitter_id", cur.get("requester_id", -1))
    else:
        updater = updaters.get(v.vid, cur.get("assignee_id") or -1)
    return {"id": v.vid, "ticket_id": tid, "timestamp": int(v.at),
            "created_at": iso(v.at), "updater_id": updater,
            "via": cur.get("via") or {"channel": "api"},
            "event_type": "Audit", "system": {}, "metadata": {},
            "child_events": children}
