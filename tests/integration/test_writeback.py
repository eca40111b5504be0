"""Write-back against the demo help-desk server over a small generated world: the note's
content and visibility, tags, idempotency, updates, redaction, routing, failures and retries.

The investigation (features, rules, evidence) is the real one; diagnoses are written in the
classifier's contract (`diagnosis.diagnoses`) by the tests, so each test picks its case."""

from __future__ import annotations

import csv
import json
import re
from datetime import datetime, timedelta

import pytest

from altor_pipelines.delivery.live import rebuild_staging, sync_sources
from altor_pipelines.delivery.writeback import deliver, writeback_client
from altor_pipelines.delivery.writeback_plan import WritebackConfig
from altor_pipelines.investigation.build import build_investigation
from altor_pipelines.ml.serve import ensure_diagnoses_table
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import connect
from altor_sim.live import at_clock
from altor_sim.world.generator import WorldParams
from tests.fixtures.live_world import served_live_world

PARAMS = WorldParams(days=14, customers=12, requests_per_minute=20, tickets_per_week=150, seed=3)
LEFTOVER = re.compile(r"[{}⟨⟩]|<slot|\bspecific\b")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("writeback")
    with served_live_world(tmp, PARAMS) as (servers, settings, world):
        go_live = datetime.fromisoformat(settings.as_of.replace("Z", "+00:00"))
        now = go_live + timedelta(days=3)
        servers.set_as_of(now)
        settings = at_clock(settings, now)
        sync_sources(settings, ("stripe", "linear", "github", "clickhouse"))
        con = connect(settings.warehouse_path)
        rebuild_staging(con, settings)
        ids = [
            r[0]
            for r in con.execute(
                "SELECT ticket_id FROM staging.stg_zendesk__tickets WHERE created_at >= ? "
                "AND status NOT IN ('solved', 'closed') ORDER BY ticket_id",
                [go_live.replace(tzinfo=None)],
            ).fetchall()
        ]
        build_investigation(con, ClickHouseAccess(settings), ticket_ids=ids,
                            as_of=now.replace(tzinfo=None))
        ensure_diagnoses_table(con)
        yield {
            "servers": servers,
            "settings": settings,
            "con": con,
            "ids": ids,
            "now": now,
            "used": set(),
            "world": world,
        }
        con.close()


def diagnose_as(
    con,
    ticket_id,
    cause,
    *,
    band="high",
    escalate=False,
    abstained=False,
    version="v1",
    p=0.93,
    at=None,
    action="reply",
):
    con.execute(
        "INSERT OR REPLACE INTO diagnosis.diagnoses (ticket_id, model_version, cause, "
        "top_cause, top_probability, probabilities, confidence_band, escalate, abstained, "
        "action, threshold, rules_fired, diagnosed_at) VALUES (?, ?, ?, ?, ?, CAST(? AS JSON), "
        "?, ?, ?, ?, 0.8, [], ?)",
        [
            ticket_id,
            version,
            None if abstained else cause,
            cause,
            p,
            json.dumps({cause: p}),
            band,
            escalate,
            abstained,
            action,
            at or datetime(2026, 6, 10, 12, 0),
        ],
    )


def pick(env, cause=None, source=None):
    """An unused investigated ticket (with evidence of `cause`/`source` when asked)."""
    rows = (
        env["con"]
        .execute(
            "SELECT DISTINCT ticket_id FROM heuristics.evidence WHERE (? IS NULL OR cause = ?) "
            "AND (? IS NULL OR source = ?) ORDER BY ticket_id",
            [cause, cause, source, source],
        )
        .fetchall()
    )
    pool = [r[0] for r in rows] if (cause or source) else env["ids"]
    tid = next(t for t in pool if t not in env["used"] and t in env["ids"])
    env["used"].add(tid)
    return tid


def run(env, tid, **cfg):
    config = WritebackConfig(
        ticket_ids=[tid], max_retries=cfg.pop("max_retries", 3), backoff_seconds=0.01, **cfg
    )
    return deliver(env["con"], writeback_client(env["settings"], config), config, as_of=env["now"])


def writes_for(env, tid):
    return [w for w in env["servers"].writes if w["ticket_id"] == tid]


def test_note_is_internal_with_cause_figures_links_and_a_filled_reply(env):
    tid = pick(env, cause="known_bug", source="linear")
    diagnose_as(env["con"], tid, "known_bug")
    result = run(env, tid)
    assert result.written == 1
    [w] = writes_for(env, tid)
    comment = w["comment"]
    assert comment["public"] is False
    body = comment["body"]
    assert "Known bug" in body and "Confidence: high (93%)" in body and "Escalate: no" in body
    issue, link = (
        env["con"]
        .execute(
            "SELECT object_id, link FROM heuristics.evidence "
            "WHERE ticket_id = ? AND source = 'linear' "
            "ORDER BY rule_score DESC LIMIT 1",
            [tid],
        )
        .fetchall()[0]
    )
    assert link in body and f'href="{link}"' in comment["html_body"]
    assert re.search(r"\d+(\.\d+)?%", body)  # figures from the evidence
    assert "<details><summary>Reproducing queries" in comment["html_body"]
    reply = body.split("Recommended reply:\n", 1)[1].split("\n", 1)[0]
    assert issue in reply and not LEFTOVER.search(reply)
    assert "altor-diagnosis:" in body
    ticket = env["servers"].world.collection("zendesk", "tickets").get(tid, env["servers"].now)
    assert {"altor_cause_known_bug", "altor_confidence_high", "altor_no_escalate"} <= set(
        ticket["tags"]
    )
    row = (
        env["con"]
        .execute(
            "SELECT status, note_kind, attempts, written_at FROM delivery.writebacks "
            "WHERE ticket_id = ?",
            [tid],
        )
        .fetchall()
    )
    assert row == [("written", "initial", 1, env["now"].replace(tzinfo=None))]


def test_second_run_adds_no_note(env):
    tid = pick(env)
    diagnose_as(env["con"], tid, "how_to")
    run(env, tid)
    second = run(env, tid)
    assert second.written == 0 and second.unchanged == 1
    assert len(writes_for(env, tid)) == 1


def test_changed_diagnosis_adds_one_update_saying_what_changed(env):
    tid = pick(env)
    diagnose_as(env["con"], tid, "how_to", band="medium", abstained=True, p=0.6)
    run(env, tid)
    diagnose_as(
        env["con"],
        tid,
        "customer_integration",
        version="v2",
        p=0.9,
        at=datetime(2026, 6, 10, 13, 0),
    )
    update = run(env, tid)
    again = run(env, tid)
    assert (update.updates, update.written, again.written) == (1, 1, 0)
    first, second = writes_for(env, tid)
    body = second["comment"]["body"]
    assert "Update, what changed:" in body
    assert "cause none -> Customer integration" in body
    assert "confidence medium -> high" in body and "model v1 -> v2" in body
    assert "altor_abstained" in second["request"]["remove_tags"]
    kinds = (
        env["con"]
        .execute(
            "SELECT note_kind FROM delivery.writebacks WHERE ticket_id = ? "
            "ORDER BY created_at, note_kind",
            [tid],
        )
        .fetchall()
    )
    assert sorted(k for (k,) in kinds) == ["initial", "update"]


def test_email_and_card_number_are_masked(env):
    tid = pick(env)
    env["con"].execute(
        "INSERT INTO heuristics.evidence "
        "(ticket_id, cause, rule_score, source, object_id, summary) "
        "VALUES (?, 'billing_issue', 0.99, 'stripe_charge', 'ch_test', "
        "'charge declined for jane.doe@customer.example paying with 4111 1111 1111 1111')",
        [tid],
    )
    diagnose_as(env["con"], tid, "billing_issue")
    run(env, tid)
    [w] = writes_for(env, tid)
    for text in (w["comment"]["body"], w["comment"]["html_body"]):
        assert "jane.doe@customer.example" not in text and "4111 1111 1111 1111" not in text
        assert "[email]" in text and "[card ••••1111]" in text


def test_misrouted_ticket_moves_to_a_learned_group(env):
    # the test (not the pipeline) reads the world's truth to find a truly misrouted ticket
    with (env["world"] / "truth" / "tickets.csv").open() as f:
        misrouted = {
            int(r["ticket_id"]) for r in csv.DictReader(f) if r["root_cause"] == "misrouted"
        }
    tid = next(t for t in env["ids"] if t in misrouted and t not in env["used"])
    env["used"].add(tid)
    diagnose_as(env["con"], tid, "misrouted", action="reroute")
    run(env, tid)
    [w] = writes_for(env, tid)
    group = w["request"].get("group_id")
    names = dict(
        env["con"]
        .execute("SELECT group_id, group_name FROM staging.stg_zendesk__groups")
        .fetchall()
    )
    assert group in names and "engineering" not in names[group].lower()
    current = (
        env["con"]
        .execute("SELECT group_id FROM staging.stg_zendesk__tickets WHERE ticket_id = ?", [tid])
        .fetchall()[0][0]
    )
    assert group != current and names[group] in w["comment"]["body"]


def test_failure_is_retried_without_loss(env):
    tid = pick(env)
    diagnose_as(env["con"], tid, "how_to")
    env["servers"].fail_next("zendesk", f"/api/v2/tickets/{tid}", status=503, times=2)
    result = run(env, tid)
    assert result.written == 1 and len(writes_for(env, tid)) == 1


def test_failure_beyond_retries_is_recorded_and_delivered_next_run(env):
    tid = pick(env)
    diagnose_as(env["con"], tid, "how_to")
    env["servers"].fail_next("zendesk", f"/api/v2/tickets/{tid}", status=500, times=2)
    first = run(env, tid, max_retries=1)
    assert (first.written, first.failed) == (0, 1) and writes_for(env, tid) == []
    status, attempts, error = (
        env["con"]
        .execute(
            "SELECT status, attempts, last_error FROM delivery.writebacks WHERE ticket_id = ?",
            [tid],
        )
        .fetchall()[0]
    )
    assert (status, attempts) == ("failed", 1) and "HTTP 500" in error
    assert "demo-zendesk-token" not in error
    second = run(env, tid)
    assert (second.written, second.retried) == (1, 1) and len(writes_for(env, tid)) == 1
    assert env["con"].execute(
        "SELECT status, attempts FROM delivery.writebacks WHERE ticket_id = ?", [tid]
    ).fetchall() == [("written", 2)]
