"""`altor investigate TICKET_ID`: one ticket's investigation and diagnosis, on demand.

The features, rules and evidence are built for that ticket alone in a scratch database over the
warehouse (read-only), as of the ticket's creation time, then the served model diagnoses it.
"""

from __future__ import annotations

import json
from typing import Any

from altor_pipelines.investigation.build import build_investigation
from altor_pipelines.ml.registry import registry_root
from altor_pipelines.ml.serve import diagnose
from altor_pipelines.settings import Settings
from altor_pipelines.taxonomy import wording
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import scratch_over, sql_text


def investigate_ticket(settings: Settings, ticket_id: int) -> dict[str, Any]:
    if not settings.warehouse_path.exists():
        raise LookupError(f"no warehouse at {settings.warehouse_path}: run the pipeline first")
    con = scratch_over(settings.warehouse_path)
    try:
        found = con.execute(sql_text("staging/investigate/ticket.sql"),
                            {"ticket_id": ticket_id}).fetchall()
        if not found:
            raise LookupError(f"ticket {ticket_id} is not in the warehouse (source=zendesk, "
                              "record=ticket_id): sync the help desk, or check the id")
        subject, created_at, organization_id = found[0]
        build_investigation(con, ClickHouseAccess(settings), ticket_ids=[ticket_id],
                            clickhouse_database=settings.clickhouse_database)
        diagnosis = diagnose(con, registry_root(settings), ticket_ids=[ticket_id]).to_dicts()
        evidence = con.execute(sql_text("heuristics/investigate/ticket_evidence.sql"),
                               {"ticket_id": ticket_id}).fetchall()
    finally:
        con.close()
    columns = ("cause", "source", "object_id", "summary", "link", "reproducing_query",
               "query_parameters")
    return {
        "ticket_id": ticket_id, "subject": subject, "created_at": created_at,
        "organization_id": organization_id,
        "diagnosis": diagnosis[0] if diagnosis else None,
        "evidence": [dict(zip(columns, row, strict=True)) for row in evidence],
    }


def render_text(result: dict[str, Any]) -> str:
    d = result["diagnosis"]
    lines = [f"Ticket {result['ticket_id']}: {result['subject']}",
             f"  created {result['created_at']}, organization {result['organization_id']}"]
    if d is None:
        lines.append("  no diagnosis (the ticket has no features)")
    elif d["abstained"]:
        lines.append(f"  ABSTAINED: escalate as uncertain/novel (most likely "
                     f"{d['top_cause']} at {d['top_probability']:.0%}, below the threshold)")
    else:
        lines.append(f"  cause: {d['cause']} — {wording(d['cause']).phrase}")
        lines.append(f"  confidence: {d['top_probability']:.0%} ({d['confidence_band']}), "
                     f"escalate: {'yes' if d['escalate'] else 'no'}, model {d['model_version']}")
    if d and d.get("rules_fired"):
        lines.append(f"  rules fired: {', '.join(d['rules_fired'])}")
    if result["evidence"]:
        lines.append("  evidence:")
        for e in result["evidence"]:
            link = f"  {e['link']}" if e["link"] else ""
            lines.append(f"    [{e['cause']}] {e['summary']}{link}")
        lines.append("  reproducing queries:")
        for e in result["evidence"]:
            params = e["query_parameters"]
            params = json.dumps(json.loads(params)) if isinstance(params, str) and params else ""
            lines.append(f"    {e['reproducing_query']} {params}".rstrip())
    return "\n".join(lines)
