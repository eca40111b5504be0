"""`validate_world(dir)`: check a world directory against altor-world/1 (docs/world-format.md).

Raises `WorldFormatError` naming the file, the line and the field of the first violation. Works on
any world (generated or hand-written); reads jsonl line by line. The request logs' Parquet files
are checked in `validate_logs.py`.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable
from pathlib import Path

from altor_pipelines.errors import WorldFormatError
from altor_pipelines.taxonomy import CAUSES
from altor_sim.world.common import LAYOUT, parse_iso
from altor_sim.world.reader import read_world_json
from altor_sim.world.validate_logs import validate_request_logs

ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]00:00)$")
TRUTH_TICKET_COLUMNS = ("ticket_id", "root_cause", "should_escalate", "evidence", "created_at")
TRUTH_ACCOUNT_COLUMNS = ("org_id", "zendesk_organization_id", "stripe_customer_id")
WORLD_KEYS = (
    "format",
    "name",
    "seed",
    "start",
    "end",
    "go_live",
    "generator",
    "root_cause_field_id",
    "repo",
    "linear_workspace",
)
SOURCES = {
    "linear",
    "github_deployment",
    "stripe_invoice",
    "stripe_charge",
    "stripe_subscription",
    "incident",
}


def _same_instant(a, b) -> bool:
    if a == b:
        return True
    try:
        return parse_iso(a) == parse_iso(b)
    except (TypeError, ValueError, AttributeError):
        return False


def _require(obj: dict, keys, path: str, line: int) -> None:
    for k in keys:
        cur = obj
        for part in k.split("."):
            if not isinstance(cur, dict) or part not in cur:
                raise WorldFormatError(path, "missing field", line=line, field=k)
            cur = cur[part]


Check = Callable[[dict, str, str, int], None]


def _agree(*fields: str) -> Check:
    def check(obj, at, path, line):
        for f in fields:
            cur = obj
            for part in f.split("."):
                cur = cur.get(part) if isinstance(cur, dict) else None
            if cur is None:
                raise WorldFormatError(path, "missing vendor timestamp", line=line, field=f)
            if not _same_instant(cur, at):
                raise WorldFormatError(
                    path, f"{cur!r} disagrees with at={at!r}", line=line, field=f
                )

    return check


def _ticket_check(field_id: int) -> Check:
    agree = _agree("updated_at")

    def check(obj, at, path, line):
        agree(obj, at, path, line)
        _require(
            obj,
            (
                "created_at",
                "status",
                "subject",
                "description",
                "organization_id",
                "group_id",
                "requester_id",
                "custom_fields",
                "generated_timestamp",
            ),
            path,
            line,
        )
        if obj["generated_timestamp"] != parse_iso(at):
            raise WorldFormatError(
                path,
                "generated_timestamp disagrees with at",
                line=line,
                field="generated_timestamp",
            )
        cf = [f for f in obj["custom_fields"] if f.get("id") == field_id]
        if not cf:
            raise WorldFormatError(
                path, "no root-cause custom field", line=line, field="custom_fields"
            )
        if cf[0].get("value") is not None and cf[0]["value"] not in CAUSES:
            raise WorldFormatError(
                path, f"unknown cause {cf[0]['value']!r}", line=line, field="custom_fields"
            )

    return check


def _stripe_check(first_seen: dict) -> Check:
    def check(obj, at, path, line):
        _require(obj, ("created",), path, line)
        t = parse_iso(at)
        if not isinstance(obj["created"], int):
            raise WorldFormatError(path, "created must be Unix seconds", line=line, field="created")
        prev = first_seen.get((path, obj["id"]))
        if prev is None or t < prev[0]:
            first_seen[(path, obj["id"])] = (t, obj["created"], line)

    return check


def _checks(field_id: int, first_seen: dict) -> dict[str, Check]:
    def req(*keys) -> Check:
        return lambda obj, at, path, line: _require(obj, keys, path, line)

    def both(*cs: Check) -> Check:
        def check(obj, at, path, line):
            for c in cs:
                c(obj, at, path, line)

        return check

    stripe = _stripe_check(first_seen)
    return {
        "zendesk/organizations": both(
            _agree("updated_at"), req("external_id", "name", "created_at")
        ),
        "zendesk/users": both(_agree("updated_at"), req("name", "role", "created_at")),
        "zendesk/groups": both(_agree("updated_at"), req("name")),
        "zendesk/ticket_fields": both(_agree("updated_at"), req("title", "type")),
        "zendesk/tickets": _ticket_check(field_id),
        "zendesk/ticket_comments": both(
            _agree("created_at"), req("ticket_id", "author_id", "public", "body")
        ),
        "zendesk/ticket_metrics": both(
            _agree("updated_at"),
            req(
                "ticket_id",
                "replies",
                "reopens",
                "group_stations",
                "assignee_stations",
                "reply_time_in_minutes",
                "first_resolution_time_in_minutes",
                "full_resolution_time_in_minutes",
                "solved_at",
                "created_at",
            ),
        ),
        "stripe/products": stripe,
        "stripe/prices": stripe,
        "stripe/invoices": stripe,
        "stripe/charges": stripe,
        "stripe/subscriptions": stripe,
        "stripe/customers": both(stripe, req("metadata")),
        "linear/teams": req("key"),
        "linear/workflow_states": req("name", "type"),
        "linear/labels": req("name"),
        "linear/issues": both(
            _agree("updatedAt"),
            req(
                "identifier",
                "title",
                "description",
                "priority",
                "createdAt",
                "completedAt",
                "canceledAt",
                "state.id",
                "state.name",
                "state.type",
                "team.id",
                "team.key",
                "labels.nodes",
                "url",
            ),
        ),
        "github/deployments": both(
            _agree("updated_at"), req("payload.service", "environment", "created_at")
        ),
        "github/deployment_statuses": both(_agree("created_at"), req("deployment_url", "state")),
        "github/releases": both(_agree("created_at"), req("tag_name")),
        "github/commits": both(_agree("commit.committer.date"), req("commit.message", "files")),
    }


def validate_world(root: Path | str, *, check_logs: bool = True) -> dict[str, int]:
    """Validate a world; return line/row counts per file.

    Raises WorldFormatError on the first problem."""
    root = Path(root)
    wj = root / "world.json"
    world = read_world_json(root)
    for k in WORLD_KEYS:
        if k not in world:
            raise WorldFormatError(str(wj), "missing key", field=k)
    if world["format"] != "altor-world/1":
        raise WorldFormatError(str(wj), "format must be altor-world/1", field="format")
    for k in ("start", "end", "go_live"):
        if not isinstance(world[k], str) or not ISO.match(world[k]) or not world[k].endswith("Z"):
            raise WorldFormatError(str(wj), "time must be ISO 8601 UTC with Z", field=k)
    field_id = world["root_cause_field_id"]
    first_seen: dict = {}
    checks = _checks(field_id, first_seen)
    counts: dict[str, int] = {}
    ticket_ids: set[int] = set()
    has_engineering = False
    for vendor, names in LAYOUT.items():
        for name in names:
            key = f"{vendor}/{name}"
            path = root / vendor / f"{name}.jsonl"
            if not path.is_file():
                raise WorldFormatError(str(path), "missing file")
            n = 0
            with path.open(encoding="utf-8") as f:
                for i, raw in enumerate(f, 1):
                    if not raw.strip():
                        continue
                    try:
                        row = json.loads(raw)
                    except json.JSONDecodeError as exc:
                        raise WorldFormatError(str(path), f"not JSON: {exc}", line=i) from None
                    if not isinstance(row, dict) or "at" not in row or "object" not in row:
                        raise WorldFormatError(str(path), "line must be {at, object}", line=i)
                    at, obj = row["at"], row["object"]
                    if not isinstance(at, str) or not ISO.match(at):
                        raise WorldFormatError(
                            str(path), "at must be ISO 8601 UTC", line=i, field="at"
                        )
                    idk = "sha" if key == "github/commits" else "id"
                    if not isinstance(obj, dict) or idk not in obj:
                        raise WorldFormatError(
                            str(path), "object without its key", line=i, field=idk
                        )
                    n += 1
                    if row.get("deleted"):
                        continue
                    checks[key](obj, at, str(path), i)
                    if key == "zendesk/tickets":
                        ticket_ids.add(obj["id"])
                    if key == "zendesk/groups" and "Engineering" in str(obj.get("name")):
                        has_engineering = True
                    if key == "stripe/customers" and "org_id" not in (obj.get("metadata") or {}):
                        raise WorldFormatError(
                            str(path),
                            "customer without metadata.org_id",
                            line=i,
                            field="metadata.org_id",
                        )
            counts[key] = n
    for (path, oid), (t, created, line) in first_seen.items():
        if created != t:
            raise WorldFormatError(
                path,
                f"created={created} disagrees with first version at {t} ({oid})",
                line=line,
                field="created",
            )
    if not has_engineering:
        raise WorldFormatError(
            str(root / "zendesk/groups.jsonl"), "no group whose name contains Engineering"
        )
    counts.update(_validate_truth(root, ticket_ids))
    if check_logs:
        counts["clickhouse/requests"] = validate_request_logs(root)
    return counts


def _validate_truth(root: Path, ticket_ids: set[int]) -> dict[str, int]:
    path = root / "truth" / "tickets.csv"
    if not path.is_file():
        raise WorldFormatError(str(path), "missing file")
    n = 0
    with path.open(newline="") as f:
        r = csv.DictReader(f)
        _require_columns(path, r.fieldnames, TRUTH_TICKET_COLUMNS)
        for i, row in enumerate(r, 2):
            tid, cause, esc, ev, created = (row[c] or "" for c in TRUTH_TICKET_COLUMNS)
            if not tid.isdigit() or int(tid) not in ticket_ids:
                raise WorldFormatError(
                    str(path), f"unknown ticket {tid}", line=i, field="ticket_id"
                )
            if cause not in CAUSES:
                raise WorldFormatError(
                    str(path), f"unknown cause {cause}", line=i, field="root_cause"
                )
            if esc not in ("0", "1"):
                raise WorldFormatError(
                    str(path), "should_escalate must be 0/1", line=i, field="should_escalate"
                )
            for part in filter(None, ev.split(";")):
                src, _, ident = part.partition(":")
                if src not in SOURCES or not ident:
                    raise WorldFormatError(
                        str(path), f"bad evidence {part!r}", line=i, field="evidence"
                    )
            if not ISO.match(created):
                raise WorldFormatError(
                    str(path), "created_at must be ISO 8601", line=i, field="created_at"
                )
            n += 1
    apath = root / "truth" / "accounts.csv"
    if not apath.is_file():
        raise WorldFormatError(str(apath), "missing file")
    with apath.open(newline="") as f:
        _require_columns(apath, next(csv.reader(f), None), TRUTH_ACCOUNT_COLUMNS)
    return {"truth/tickets": n}


def _require_columns(path: Path, header: list[str] | None, required: tuple[str, ...]) -> None:
    """The header names every required column, in any order; extra columns are allowed
    (WORLD-FORMAT: extensions, extra fields, are allowed)."""
    missing = [c for c in required if c not in (header or [])]
    if missing:
        raise WorldFormatError(str(path), f"bad header {header}: missing {', '.join(missing)}",
                               line=1, field=missing[0])
