"""The internal note an agent reads: what is wrong in plain words, how sure we are, the
decisive evidence with figures and links, a recommended reply, and (folded at the end) the
queries that reproduce every figure.

`render_note` returns the same note twice: `html_body` for Zendesk (queries folded in
`<details>`) and `body` in plain text (queries in a separated section). Both end with the
diagnosis marker `altor-diagnosis:<fingerprint>` that makes the write-back idempotent.
Everything passes through `redact` last.
"""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from typing import Any

from altor_pipelines.delivery.redact import redact
from altor_pipelines.taxonomy import wording

MARKER = "altor-diagnosis:"
MAX_EVIDENCE = 5

@dataclass
class Diagnosis:
    """One row of `diagnosis.diagnoses` (the classifier's contract)."""

    ticket_id: int
    model_version: str
    cause: str | None
    top_cause: str
    top_probability: float
    confidence_band: str
    escalate: bool
    abstained: bool
    action: str = ""
    rules_fired: list[str] = field(default_factory=list)
    decided_by: str | None = None  # model | rule | abstain (None: written before per cause)
    estimated_precision: float | None = None  # of the delivered cause, out of fold

    @property
    def shown_cause(self) -> str:
        """The cause whose evidence the note shows (the leading hypothesis when abstaining)."""
        return self.cause or self.top_cause

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> Diagnosis:
        return cls(
            int(row["ticket_id"]),
            str(row["model_version"]),
            row.get("cause"),
            row.get("top_cause") or row.get("cause") or "novel",
            float(row.get("top_probability") or 0.0),
            row.get("confidence_band") or "low",
            bool(row.get("escalate")),
            bool(row.get("abstained")),
            row.get("action") or "",
            list(row.get("rules_fired") or []),
            row.get("decided_by"),
            row.get("estimated_precision"),
        )


@dataclass
class Note:
    body: str
    html_body: str
    evidence_ids: list[str]


def cause_words(cause: str | None) -> str:
    return wording(cause).title


def decisive_evidence(d: Diagnosis, evidence: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The evidence of the shown cause, strongest rule first, without repeats, at most 5."""
    rows = [e for e in evidence if e.get("cause") == d.shown_cause]
    rows.sort(
        key=lambda e: (-(e.get("rule_score") or 0.0), str(e.get("source")), str(e.get("object_id")))
    )
    seen, out = set(), []
    for e in rows:
        key = (e.get("source"), e.get("object_id"), e.get("summary"))
        if key in seen:
            continue
        seen.add(key)
        out.append(e)
    return out[:MAX_EVIDENCE]


def evidence_id(e: dict[str, Any]) -> str:
    return f"{e.get('source')}:{e.get('object_id')}"


def reproducing_command(e: dict[str, Any]) -> str | None:
    """The query behind a figure, runnable as it stands: ClickHouse SQL with its parameters
    as `clickhouse-client --param_…` flags; vendor API calls as they are."""
    query = e.get("reproducing_query")
    if not query:
        return None
    params = e.get("query_parameters")
    if e.get("source") == "clickhouse" or params:
        try:
            values = json.loads(params) if isinstance(params, str) else (params or {})
        except ValueError:
            values = {}
        flags = " ".join(
            f"--param_{k}={json.dumps('' if v is None else str(v))}"
            for k, v in sorted(values.items())
        )
        return f"clickhouse-client {flags} --query {json.dumps(query)}".replace("  ", " ")
    return str(query)


def confidence_text(d: Diagnosis) -> str:
    """The band and who decided: the model (with its probability), the rule that names the
    cause, or nobody (abstained); with the cause's estimated precision when delivered."""
    text = f"{d.confidence_band} ({round(100 * d.top_probability)}%)"
    precision = (f", {round(100 * d.estimated_precision)}% of this cause's past diagnoses "
                 "estimated right" if d.estimated_precision is not None else "")
    if d.decided_by == "model":
        return f"{text}, delivered by the model{precision}"
    if d.decided_by == "rule":
        return (f"{d.confidence_band}, delivered by the rule for {cause_words(d.cause).lower()} "
                f"(the model's {round(100 * d.top_probability)}% is not used for this cause)"
                f"{precision}")
    if d.decided_by == "abstain":
        return f"{text}, abstained: no cause reaches the precision target here"
    return text


def render_note(
    d: Diagnosis,
    evidence: list[dict[str, Any]],
    reply: str | None,
    fingerprint: str,
    *,
    changes: list[str] | None = None,
    group: tuple[int, str, int] | None = None,
    secrets: tuple = (),
) -> Note:
    """The note for diagnosis `d`. `changes`: what changed since the last note (an update);
    `group`: (group_id, name, supporting tickets) for a misrouted ticket."""
    shown = decisive_evidence(d, evidence)
    title, meaning = wording(d.shown_cause).title, wording(d.shown_cause).meaning
    if d.abstained:
        headline = (
            f"Altor: no confident diagnosis; leading hypothesis {title.lower()} "
            f"({meaning}). Please investigate and escalate if needed."
        )
    else:
        headline = f"Altor diagnosis: {title}: {meaning}."
    facts = (
        f"Confidence: {confidence_text(d)}. Escalate: {'yes' if d.escalate else 'no'}. "
        f"Model {d.model_version}."
    )
    group_text = (
        (
            f"Belongs to group {group[1]} (where {group[2]} similar past tickets "
            "ended); the ticket has been moved there."
        )
        if group
        else ""
    )
    # plain text
    text = [headline, facts]
    if changes:
        text.append("Update, what changed: " + "; ".join(changes) + ".")
    if group:
        text.append(group_text)
    text.append("")
    text.append("Evidence:" if shown else "Evidence: none of the rules found any.")
    for e in shown:
        link = f" {e['link']}" if e.get("link") else ""
        text.append(f"- {e.get('summary')}{link}")
    text.append("")
    if reply:
        text.append("Recommended reply:")
        text.append(reply)
    else:
        text.append("Recommended reply: none learned for this cause yet.")
    queries = [(i, e, q) for i, e in enumerate(shown, 1) if (q := reproducing_command(e))]
    if queries:
        text += ["", "-" * 20, "Reproducing queries:"]
        text += [f"[{i}] {e.get('source')} {e.get('object_id')}: {q}" for i, e, q in queries]
    marker = f"{MARKER}{fingerprint}"
    text += ["", marker]
    body = redact("\n".join(text), secrets)

    esc = html.escape
    parts = [f"<p><strong>{esc(headline)}</strong></p>", f"<p>{esc(facts)}</p>"]
    if changes:
        parts.append(f"<p><em>Update, what changed:</em> {esc('; '.join(changes))}.</p>")
    if group:
        parts.append(f"<p>{esc(group_text)}</p>")
    if shown:
        items = []
        for e in shown:
            link = (
                f' <a href="{esc(e["link"], quote=True)}">{esc(str(e.get("object_id")))}</a>'
                if e.get("link")
                else ""
            )
            items.append(f"<li>{esc(str(e.get('summary')))}{link}</li>")
        parts.append("<p><strong>Evidence</strong></p><ul>" + "".join(items) + "</ul>")
    else:
        parts.append("<p><strong>Evidence</strong>: none of the rules found any.</p>")
    if reply:
        parts.append(
            f"<p><strong>Recommended reply</strong></p><blockquote>{esc(reply)}</blockquote>"
        )
    else:
        parts.append("<p><strong>Recommended reply</strong>: none learned for this cause yet.</p>")
    if queries:
        qs = "".join(
            f"<p>[{i}] {esc(str(e.get('source')))} {esc(str(e.get('object_id')))}</p>"
            f"<pre>{esc(q)}</pre>"
            for i, e, q in queries
        )
        parts.append(
            f"<details><summary>Reproducing queries ({len(queries)})</summary>{qs}</details>"
        )
    parts.append(f"<p><small>{esc(marker)}</small></p>")
    html_body = redact("".join(parts), secrets)
    return Note(body, html_body, [evidence_id(e) for e in shown])


def describe_changes(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Human-readable differences between two diagnosis summaries (cause, band, escalate,
    evidence ids, model version), for an update note."""
    out = []
    if old.get("cause") != new.get("cause"):
        out.append(
            f"cause {cause_words(old.get('cause')) if old.get('cause') else 'none'} -> "
            f"{cause_words(new.get('cause')) if new.get('cause') else 'none'}"
        )
    if old.get("confidence_band") != new.get("confidence_band"):
        out.append(f"confidence {old.get('confidence_band')} -> {new.get('confidence_band')}")
    if bool(old.get("escalate")) != bool(new.get("escalate")):
        out.append(
            f"escalate {'yes' if old.get('escalate') else 'no'} -> "
            f"{'yes' if new.get('escalate') else 'no'}"
        )
    before, after = set(old.get("evidence_ids") or []), set(new.get("evidence_ids") or [])
    if after - before:
        out.append("new evidence " + ", ".join(sorted(after - before)))
    if before - after:
        out.append("evidence no longer cited " + ", ".join(sorted(before - after)))
    if old.get("model_version") != new.get("model_version"):
        out.append(f"model {old.get('model_version')} -> {new.get('model_version')}")
    return out
