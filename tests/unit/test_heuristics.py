"""Heuristic rules, their scores and evidence, on the hand-built scenario."""

from __future__ import annotations

import json
import re

import pytest

from altor_sim.evaluation.heuristics import evaluate_heuristics
from tests.fixtures.warehouse_fixtures import (
    TICKETS,
    investigated_scenario,
    truth_csv,
)


@pytest.fixture(scope="module")
def con():
    yield from investigated_scenario()


def scores(con) -> dict[int, tuple]:
    return {r[0]: r[1:] for r in con.execute(
        "SELECT ticket_id, best_rule_cause, best_rule_score, rules_fired "
        "FROM heuristics.rule_scores").fetchall()}


@pytest.mark.parametrize("ticket_id,cause,score", [
    (101, "deploy_regression", 0.95),   # step x8.2, onset 5 min after, serves the failing svc
    (102, "known_bug", 0.9),            # 0.5 + 0.4 x match score 1.0
    (103, "plan_limit", 1.0),           # 0.55 + 0.35 x 100% + 0.1 (anomalous 429s)
    (104, "billing_issue", 0.9),        # subscription past_due
    (105, "customer_integration", 0.7),  # 4xx anomalous against its own baseline
    (106, "how_to", 0.7),               # no anomaly, asks a question, names no data term
    (107, "how_to", 0.7),               # no traffic at all
    (108, "platform_incident", 0.4 + 4 / 11),
    (109, "novel", 0.5),                # latency x9, nothing explains it
    (110, "how_to", 0.6),
])
def test_each_rule_fires_for_its_case(con, ticket_id, cause, score):
    best, best_score, fired = scores(con)[ticket_id]
    assert best == cause
    assert best_score == pytest.approx(score)
    assert fired == [cause]


def test_rule_scores_columns_and_range(con):
    rows = con.execute("SELECT * FROM heuristics.rule_scores").fetchall()
    cols = [d[0] for d in con.description]
    assert len(rows) == len(TICKETS)
    score_cols = [c for c in cols if c.startswith("score_")]
    assert len(score_cols) == 9
    for r in rows:
        for c in score_cols:
            assert 0 <= r[cols.index(c)] <= 1


def test_deploy_evidence_cites_deploy_with_figures_and_link(con):
    ev = con.execute(
        "SELECT source, object_id, summary, link, reproducing_query FROM heuristics.evidence "
        "WHERE ticket_id = 101 ORDER BY source").fetchall()
    assert [e[:2] for e in ev] == [("clickhouse", "svc_pay"), ("github_deployment", "501")]
    assert "5 min before" in ev[1][2] and "30.4%" in ev[1][2]
    assert ev[1][3] == "https://github.com/acme/api/commit/" + "a" * 40
    assert ev[1][4] == "GET /repos/acme/api/deployments/501/statuses"
    assert "error rate 0.0% in the 6h before the deploy vs 30.4% in the hour after" in ev[0][2]


def test_billing_evidence_names_stripe_objects(con):
    ev = dict(con.execute(
        "SELECT source, summary || ' | ' || link FROM heuristics.evidence WHERE ticket_id = 104"
    ).fetchall())
    assert ev["stripe_invoice"].startswith("Invoice in_d1 of 49.00 USD unpaid")
    assert "3.0 days past due" in ev["stripe_invoice"]
    assert ev["stripe_invoice"].endswith("https://dashboard.stripe.com/invoices/in_d1")
    assert "card_declined (insufficient_funds)" in ev["stripe_charge"]
    assert ev["stripe_subscription"].startswith("Subscription sub_d was past_due")


def test_every_evidence_row_names_an_existing_object_and_a_figure(con):
    exists = {
        "linear": "SELECT count(*) FROM staging.stg_linear__issues WHERE identifier = $id",
        "github_deployment": "SELECT count(*) FROM staging.stg_github__deployments "
                             "WHERE deployment_id::VARCHAR = $id",
        "stripe_invoice": "SELECT count(*) FROM staging.stg_stripe__invoices "
                          "WHERE invoice_id = $id",
        "stripe_charge": "SELECT count(*) FROM staging.stg_stripe__charges WHERE charge_id = $id",
        "stripe_subscription": "SELECT count(*) FROM staging.stg_stripe__subscription_history "
                               "WHERE subscription_id = $id",
        "clickhouse": "SELECT count(*) FROM (SELECT org_id AS x "
                      "FROM intermediate.int_account_spine "
                      "UNION SELECT service FROM fixture.request_minutes "
                      "UNION SELECT 'platform') WHERE x = $id",
    }
    rows = con.execute(
        "SELECT ticket_id, source, object_id, summary, link, reproducing_query, query_parameters "
        "FROM heuristics.evidence").fetchall()
    assert {r[0] for r in rows} == set(TICKETS)  # every ticket has evidence
    for tid, source, object_id, summary, link, query, params in rows:
        assert con.execute(exists[source], {"id": object_id}).fetchall()[0][0] >= 1, (
            tid, source, object_id)
        assert re.search(r"\d", summary), summary
        assert query
        if source == "clickhouse":
            assert link is None
            named = set(re.findall(r"\{(\w+):", query))
            assert named == set(json.loads(params)), (query, params)
        else:
            assert link.startswith("https://")


def test_evaluation_per_cause(con, tmp_path):
    path = tmp_path / "tickets.csv"
    truth_csv(path)
    table = evaluate_heuristics(con, path)
    by_cause = {r["cause"]: r for r in table.iter_rows(named=True)}
    assert by_cause["how_to"]["support"] == 3 and by_cause["how_to"]["precision"] == 1.0
    assert by_cause["misrouted"]["support"] == 0
    assert by_cause["macro"]["f1"] == 1.0
    # a wrong truth label lowers both sides
    path.write_text(path.read_text().replace("109,novel", "109,known_bug"))
    by_cause = {r["cause"]: r for r in evaluate_heuristics(con, path).iter_rows(named=True)}
    assert by_cause["known_bug"]["recall"] == 0.5 and by_cause["known_bug"]["precision"] == 1.0
    assert by_cause["novel"]["precision"] == 0.0
