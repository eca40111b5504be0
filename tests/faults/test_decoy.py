"""Security case: a decoy customer with a striking anomaly never appears in another customer's
evidence, note or recommended reply.

A small generated world is given a decoy: one customer that files tickets like the others but
whose calls to one endpoint fail with 500s for six hours before the live clock (a code no other
customer gets), and with an invoice past due and a declined charge. The live path runs as in
production (sync every source, staging, investigation at the clock, diagnosis, write-back to
the demo help desk); every ticket is delivered at its best rule's cause, so each one gets a
note with evidence and, where the playbook has one, a recommended reply. Then the decoy's
names, keys, Stripe objects and figures are looked for in everything the other customers got:
their evidence rows and the notes the help desk holds. The decoy's own ticket must show them
(the search would find a leak)."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from altor_pipelines.clock import naive_utc, parse_time
from altor_pipelines.delivery.live import live_cycle
from altor_pipelines.delivery.writeback_plan import WritebackConfig
from altor_pipelines.ml.serve import ensure_diagnoses_table
from altor_pipelines.taxonomy import action_for
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import connect, sql_text
from altor_sim.live import at_clock, prepare_live_world
from altor_sim.servers import start_servers
from altor_sim.world.generator import WorldParams, generate_world
from tests.faults.harness import Outcome, record

pytestmark = pytest.mark.faults

# three weeks of history: enough first-contact replies for the playbook to learn templates
# with slots (an invoice, an issue, a subscription) that a ticket's own evidence fills
PARAMS = WorldParams(days=21, customers=8, requests_per_minute=10, tickets_per_week=150, seed=5)
CODE = "upstream_meltdown"  # the decoy's error code: no other customer ever gets it
SPIKE = timedelta(hours=6)  # the decoy's 500s, up to the live clock
PER_MINUTE = 20
INVOICE, CHARGE = "in_Qz7DecoyPastDue4242", "ch_Qz7DecoyDeclined4242"
AMOUNT = 987_654  # cents: 9876.54


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def _append(path: Path, rows: list[dict]) -> None:
    with path.open("a") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)


def _iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def choose_decoy(world: Path, go_live: datetime, now: datetime) -> dict:
    """The matched account (help desk and Stripe) with the fewest live tickets, at least one."""
    accounts = [a for a in csv.DictReader((world / "truth" / "accounts.csv").open())
                if a["zendesk_organization_id"] and a["stripe_customer_id"]]
    created: dict[int, tuple[int, str]] = {}
    for v in _jsonl(world / "zendesk" / "tickets.jsonl"):
        t = v["object"]
        created.setdefault(t["id"], (t["organization_id"], t["created_at"]))
    live: dict[int, list[int]] = {}
    for tid, (org, at) in created.items():
        if go_live <= parse_time(at) < now:
            live.setdefault(org, []).append(tid)
    accounts = [a for a in accounts if live.get(int(a["zendesk_organization_id"]))]
    decoy = min(accounts, key=lambda a: (len(live[int(a["zendesk_organization_id"])]),
                                         a["org_id"]))
    zid = int(decoy["zendesk_organization_id"])
    name = next(v["object"]["name"] for v in _jsonl(world / "zendesk" / "organizations.jsonl")
                if v["object"]["id"] == zid)
    return {"org_id": decoy["org_id"], "zendesk_id": zid, "name": name,
            "customer": decoy["stripe_customer_id"], "tickets": sorted(live[zid])}


def add_spike(world: Path, decoy: dict, now: datetime) -> int:
    """The decoy's 500s with CODE on its busiest endpoint over SPIKE before `now`, written
    into that day's request-log file (kept ordered by org and time)."""
    path = world / "clickhouse" / "requests" / f"requests-{(now - SPIKE):%Y-%m-%d}.parquet"
    logs = pq.read_table(path)
    own = logs.filter(pc.equal(logs["org_id"], decoy["org_id"])).to_pylist()
    top = max({(r["service"], r["endpoint"]) for r in own},
              key=lambda k: sum((r["service"], r["endpoint"]) == k for r in own))
    like = next(r for r in reversed(own) if (r["service"], r["endpoint"]) == top)
    start = now - SPIKE
    rows = [{**like, "ts": start + timedelta(seconds=i * 60 / PER_MINUTE), "status": 500,
             "error_code": CODE, "latency_ms": 2500.0, "request_id": f"req_decoy_{i:07d}"}
            for i in range(int(SPIKE.total_seconds() / 60 * PER_MINUTE))]
    merged = pa.concat_tables([logs, pa.Table.from_pylist(rows, schema=logs.schema)])
    pq.write_table(merged.sort_by([("org_id", "ascending"), ("ts", "ascending")]), path)
    decoy["service"], decoy["endpoint"] = top
    return len(rows)


def add_billing_trouble(world: Path, decoy: dict, now: datetime) -> None:
    """An invoice of AMOUNT past due and its declined charge, on the decoy's Stripe customer."""
    stripe = world / "stripe"
    invoice = next(v["object"] for v in reversed(_jsonl(stripe / "invoices.jsonl"))
                   if v["object"]["customer"] == decoy["customer"])
    charge = next(v["object"] for v in _jsonl(stripe / "charges.jsonl")
                  if v["object"]["status"] == "failed")
    created, due, declined = now - timedelta(days=10), now - timedelta(days=3), \
        now - timedelta(days=2)
    inv = {**invoice, "id": INVOICE, "number": "QZ7-4242", "created": int(created.timestamp()),
           "amount_due": AMOUNT, "amount_paid": 0, "amount_remaining": AMOUNT, "subtotal": AMOUNT,
           "total": AMOUNT, "status": "open", "paid": False, "attempted": True,
           "attempt_count": 3, "due_date": int(due.timestamp()), "next_payment_attempt": None,
           "description": "Usage overage",
           "hosted_invoice_url": f"https://invoice.stripe.com/i/{INVOICE}",
           "status_transitions": {"finalized_at": int(created.timestamp()), "paid_at": None,
                                  "voided_at": None, "marked_uncollectible_at": None}}
    ch = {**charge, "id": CHARGE, "customer": decoy["customer"], "invoice": INVOICE,
          "amount": AMOUNT, "created": int(declined.timestamp()),
          "payment_intent": "pi_Qz7DecoyDeclined4242", "description": "Invoice QZ7-4242",
          "billing_details": {**charge.get("billing_details", {}), "name": decoy["name"]}}
    _append(stripe / "invoices.jsonl", [{"at": _iso(created), "object": inv}])
    _append(stripe / "charges.jsonl", [{"at": _iso(declined), "object": ch}])


def deliver_best_rule(con, settings, ticket_ids: list[int], now: datetime) -> int:
    """Every ticket delivered at its best rule's cause, high confidence (so every note shows
    evidence and a recommended reply where the playbook has one)."""
    ensure_diagnoses_table(con)
    rows = con.execute(sql_text("sim/best_rule_diagnoses.sql"), {"ids": ticket_ids}).fetchall()
    for tid, cause, p, fired in rows:
        con.execute(sql_text("sim/insert_rule_diagnosis.sql"), {
            "ticket_id": tid, "cause": cause, "top_cause": cause, "top_probability": p,
            "probabilities": json.dumps({cause: p}), "confidence_band": "high",
            "escalate": action_for(cause) == "escalate", "abstained": False,
            "action": action_for(cause), "rules_fired": list(fired or []),
            "diagnosed_at": naive_utc(now)})
    return len(rows)


def decoy_figures(settings, decoy: dict, now: datetime) -> set[str]:
    """The decoy's own error figures at the clock, as a note would print them: its 5xx and
    request counts over the last 1h, 6h and 24h, and its CODE responses."""
    out = set()
    with ClickHouseAccess(settings).client() as c:
        for hours in (1, 6, 24):
            n, n5, ncode = c.query(
                "SELECT count(), countIf(status >= 500), countIf(error_code = {code:String}) "
                "FROM {db:Identifier}.requests WHERE org_id = {org:String} "
                "AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}",
                parameters={"db": settings.clickhouse_database, "org": decoy["org_id"],
                            "code": CODE, "start": now - timedelta(hours=hours), "end": now}
            ).result_rows[0]
            out |= {str(int(n)), str(int(n5)), str(int(ncode))}
    return {f for f in out if len(f) >= 4}  # short numbers are everyone's


def found(text: str, needles: set[str]) -> set[str]:
    return {n for n in needles if re.search(rf"(?<![\w.]){re.escape(n)}(?![\w])", text)}


def test_a_decoy_customer_never_appears_in_another_customers_evidence_note_or_reply(tmp_path):
    world = tmp_path / "world"
    generate_world(world, PARAMS)
    go_live = parse_time(json.loads((world / "world.json").read_text())["go_live"])
    now = go_live + timedelta(days=1)
    decoy = choose_decoy(world, go_live, now)
    assert add_spike(world, decoy, now) == SPIKE.total_seconds() / 60 * PER_MINUTE
    add_billing_trouble(world, decoy, now)
    with start_servers(world) as servers:
        settings = prepare_live_world(servers, world, tmp_path / "data", train=False)
        servers.set_as_of(now)
        settings = at_clock(settings, now)
        done = live_cycle(settings, since=go_live, diagnoser=deliver_best_rule,
                          config=WritebackConfig(backoff_seconds=0.01))
        notes = {w["ticket_id"]: w for w in servers.writes}
        figures = decoy_figures(settings, decoy, now)
    con = connect(settings.warehouse_path, read_only=True)
    try:
        evidence = con.execute("SELECT ticket_id, cause, source, object_id, summary, link, "
                               "reproducing_query, query_parameters "
                               "FROM heuristics.evidence").fetchall()
        cur = con.execute("SELECT * FROM features.fct_ticket_features")
        cols = [c[0] for c in cur.description]
        features = {r[0]: " ".join(f"{k}={v}" for k, v in zip(cols, r, strict=True))
                    for r in cur.fetchall()}
        stripe_ids = {r[0] for r in con.execute(
            "SELECT invoice_id FROM staging.stg_stripe__invoices WHERE customer_id = ? UNION "
            "SELECT charge_id FROM staging.stg_stripe__charges WHERE customer_id = ? UNION "
            "SELECT subscription_id FROM staging.stg_stripe__subscriptions "
            "WHERE customer_id = ?", [decoy["customer"]] * 3).fetchall()}
    finally:
        con.close()
    assert {INVOICE, CHARGE} <= stripe_ids
    others = sorted(set(done.investigated) - set(decoy["tickets"]))
    assert len(others) >= 5 and set(decoy["tickets"]) <= set(done.investigated)
    assert set(notes) == set(done.investigated), "every investigated ticket got its note"
    # what would name the decoy, or repeat what only the decoy has
    names = {decoy["org_id"], decoy["name"], decoy["customer"], CODE, *stripe_ids,
             f"{AMOUNT / 100:.2f}"}
    needles = names | figures

    def text_of(tids) -> str:
        rows = [" | ".join(map(str, r)) for r in evidence if r[0] in tids]
        for tid in tids:
            rows.append(json.dumps(notes[tid]["comment"]))
        return "\n".join(rows)

    own = text_of(decoy["tickets"]) + "\n" + "\n".join(features[t] for t in decoy["tickets"])
    theirs = text_of(others)
    # the other customers' evidence read the logs over the decoy's spike, and replies were
    # rendered from their evidence
    assert any(r[0] in others and r[2] == "clickhouse" for r in evidence)
    replies = [notes[t]["comment"]["body"].split("Recommended reply:\n", 1)[1].split("\n\n")[0]
               for t in others if "Recommended reply:\n" in notes[t]["comment"]["body"]]
    assert replies, "no note carries a recommended reply"
    # the search finds the decoy where it belongs: its own ticket's evidence and note
    assert {decoy["org_id"], decoy["customer"], CODE, INVOICE} <= found(own, needles)
    assert found(own, figures), figures
    # ... and nowhere else: not in their evidence, notes or replies, nor in their features
    assert found(theirs, needles) == set()
    assert found("\n".join(replies), needles) == set()
    assert found("\n".join(features[t] for t in others), names) == set()
    record("security:decoy_customer_isolated", "security", True, Outcome(), 2)
