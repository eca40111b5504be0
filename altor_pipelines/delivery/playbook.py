"""Recommended replies, learned per cause from the public agent replies that resolved past
tickets of that cause at first contact (sql/delivery/playbook_replies.sql).

Learning, per cause (at least `MIN_SUPPORT` replies):
- every reply is cut into sentences and word-like *cores* (ids, numbers, words);
- the template is the most central reply (the medoid: highest mean Jaccard similarity of its
  cores to the other replies of the cause);
- in it, a core that names an object known to the warehouse (a Linear identifier, a deployment
  id, a Stripe invoice/charge/subscription id: sql/delivery/known_objects.sql) becomes a slot
  of that object's kind; a core used by fewer than half of the cause's replies (names, other
  tickets' numbers, dates, endpoints) is ticket-specific and becomes an unfillable slot; the
  rest is the wording agents share, kept as it is.

Rendering for a ticket fills each slot from THIS ticket's evidence (and facts about the cited
objects: sql/delivery/evidence_details.sql). A sentence with a slot that cannot be filled is
dropped; when no sentence survives there is no recommended reply. No slot ever reaches a note.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import duckdb

from altor_pipelines.warehouse.duckdb import sql_text

MIN_SUPPORT = 3
COMMON_SHARE = 0.5
UNFILLABLE = "specific"
SENTENCE = re.compile(r"(?<=[.!?])\s+")
CORE = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_.:/@'-]*[A-Za-z0-9_])?")


@dataclass(frozen=True)
class Piece:
    text: str
    slot: str | None = None  # None: fixed wording; else the kind of object it names


@dataclass
class Template:
    cause: str
    sentences: list[list[Piece]]
    support: int
    source_ticket_id: int

    def pattern(self) -> str:
        """The template as text, slots shown as ⟨kind⟩ (for docs and the playbook table)."""
        return " ".join(
            "".join(p.text if p.slot is None else f"⟨{p.slot}⟩" for p in s) for s in self.sentences
        )

    def slots(self) -> list[str]:
        return [p.slot for s in self.sentences for p in s if p.slot]


@dataclass
class Playbook:
    templates: dict[str, Template] = field(default_factory=dict)

    def reply(self, cause: str | None, fills: dict[str, str]) -> str | None:
        t = self.templates.get(cause or "")
        return render_template(t, fills) if t else None


def _cores(text: str) -> set[str]:
    return {m.group(0).lower() for m in CORE.finditer(text)}


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a or b else 1.0


def _pieces(sentence: str, known: dict[str, str], common: set[str]) -> list[Piece]:
    out: list[Piece] = []
    pos = 0
    for m in CORE.finditer(sentence):
        if m.start() > pos:
            out.append(Piece(sentence[pos : m.start()]))
        core = m.group(0)
        kind = known.get(core) or known.get(core.rstrip(".:"))
        if kind:
            out.append(Piece(core, kind))
        elif core.lower() in common:
            out.append(Piece(core))
        else:
            out.append(Piece(core, UNFILLABLE))
        pos = m.end()
    if pos < len(sentence):
        out.append(Piece(sentence[pos:]))
    return out


def learn_template(
    cause: str,
    replies: list[tuple[int, str]],
    known: dict[str, str],
    min_support: int = MIN_SUPPORT,
) -> Template | None:
    """The template of one cause from its (ticket_id, reply) pairs; None below `min_support`."""
    replies = [(tid, r.strip()) for tid, r in replies if r and r.strip()]
    if len(replies) < min_support:
        return None
    cores = [_cores(r) for _, r in replies]
    df = Counter(c for cs in cores for c in cs)
    common = {c for c, n in df.items() if n >= COMMON_SHARE * len(replies)}
    n = len(cores)
    # the medoid; O(n^2) over at most a few hundred replies per cause
    best = max(
        range(n),
        key=lambda i: (
            sum(_jaccard(cores[i], cores[j]) for j in range(n) if j != i),
            -replies[i][0],
        ),
    )
    tid, text = replies[best]
    sentences = [_pieces(s, known, common) for s in SENTENCE.split(text) if s.strip()]
    return Template(cause, sentences, len(replies), tid)


def render_template(t: Template, fills: dict[str, str]) -> str | None:
    """The reply with every slot filled from `fills` (kind -> text); sentences with a slot
    that has no value are dropped; None when nothing is left."""
    kept = []
    for sentence in t.sentences:
        if any(p.slot and not fills.get(p.slot) for p in sentence):
            continue
        kept.append("".join(fills[p.slot] if p.slot else p.text for p in sentence).strip())
    text = " ".join(s for s in kept if s)
    return text or None


def learn_playbook(
    con: duckdb.DuckDBPyConnection, before: datetime | None = None, min_support: int = MIN_SUPPORT
) -> Playbook:
    """Learn a template per cause from the warehouse's history (tickets created before
    `before`, all when None)."""
    rows = con.execute(sql_text("delivery/playbook_replies.sql"), {"before": before}).fetchall()
    known = {
        oid: kind
        for oid, kind in con.execute(sql_text("delivery/known_objects.sql")).fetchall()
        if oid
    }
    by_cause: dict[str, list[tuple[int, str]]] = {}
    for tid, cause, reply, _ in rows:
        by_cause.setdefault(cause, []).append((tid, reply))
    book = Playbook()
    for cause, replies in sorted(by_cause.items()):
        t = learn_template(cause, replies, known, min_support)
        if t is not None:
            book.templates[cause] = t
    return book


def save_playbook(con: duckdb.DuckDBPyConnection, book: Playbook, learned_at: datetime) -> int:
    """Replace `delivery.playbook` (cause, template, slots, support, source_ticket_id,
    learned_at): what the notes' replies are built from, for people to read."""
    con.execute("CREATE SCHEMA IF NOT EXISTS delivery")
    con.execute(
        "CREATE OR REPLACE TABLE delivery.playbook (cause VARCHAR PRIMARY KEY, "
        "template VARCHAR, slots VARCHAR[], support INTEGER, source_ticket_id BIGINT, "
        "learned_at TIMESTAMP)"
    )
    for t in book.templates.values():
        con.execute(
            "INSERT INTO delivery.playbook VALUES (?, ?, ?, ?, ?, ?)",
            [t.cause, t.pattern(), t.slots(), t.support, t.source_ticket_id, learned_at],
        )
    return len(book.templates)


# -- filling slots from a ticket's evidence -----------------------------------------------------


def _when(value: Any) -> str | None:
    if not value:
        return None
    return str(value)[:16].replace("T", " ") + " UTC"


def describe_object(kind: str, object_id: str, detail: dict[str, Any] | None) -> str:
    """What a reply says about one cited object, with the facts the warehouse has."""
    d = detail or {}
    if kind == "linear":
        if d.get("detail_at"):
            return f"{object_id}, fixed on {str(d['detail_at'])[:10]}"
        return f"{object_id}, currently {d['state']}" if d.get("state") else object_id
    if kind == "github_deployment":
        text = f"deploy {object_id}" + (f" of {d['state']}" if d.get("state") else "")
        if d.get("title") and d.get("detail_at"):
            text += f", followed by deploy {d['title']} at {_when(d['detail_at'])}"
        return text
    if kind == "stripe_invoice":
        parts = [object_id] + [x for x in (d.get("amount"), d.get("state")) if x]
        return ", ".join(parts)
    if kind == "stripe_subscription":
        if d.get("title") and d.get("amount"):
            return f"plan {d['title']}, limit {d['amount']} requests per minute"
        return f"plan {d['title']}" if d.get("title") else object_id
    return object_id


def evidence_details(
    con: duckdb.DuckDBPyConnection, ids: list[str], as_of: datetime | None
) -> dict[tuple[str, str], dict[str, Any]]:
    """(kind, object_id) -> facts about each cited object (sql/delivery/evidence_details.sql)."""
    if not ids:
        return {}
    cur = con.execute(sql_text("delivery/evidence_details.sql"), {"ids": ids, "as_of": as_of})
    cols = [c[0] for c in cur.description]
    rows = cur.fetchall()
    return {(r[0], r[1]): dict(zip(cols, r, strict=True)) for r in rows}


def slot_fills(
    evidence: list[dict[str, Any]], details: dict[tuple[str, str], dict[str, Any]]
) -> dict[str, str]:
    """kind -> text for the slots a reply may have, from the ticket's evidence rows (the
    strongest row of each source wins)."""
    fills: dict[str, str] = {}
    for e in sorted(evidence, key=lambda e: -(e.get("rule_score") or 0)):
        kind, oid = e.get("source"), e.get("object_id")
        if not kind or not oid or kind in fills or kind == "clickhouse":
            continue
        fills[kind] = describe_object(kind, str(oid), details.get((kind, str(oid))))
    return fills


def to_json(book: Playbook) -> str:
    return json.dumps(
        {c: {"template": t.pattern(), "support": t.support} for c, t in book.templates.items()},
        indent=2,
    )
