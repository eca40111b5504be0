"""Point-in-time correctness: data stamped after a ticket's investigation time changes none of
its features, rule scores or evidence (whole rows compared)."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from tests.fixtures.warehouse_fixtures import (
    T0,
    T1,
    build_scenario,
    deployment,
    deployment_status,
    insert,
    insert_traffic,
    investigate,
    linear_issue,
    ticket,
)

M = timedelta(minutes=1)
H = timedelta(hours=1)

TABLES = {
    "features.fct_ticket_features": "ticket_id",
    "features.ticket_linear_matches": "ticket_id, match_rank",
    "features.ticket_endpoint_excess": "ticket_id, excess_rank",
    "heuristics.rule_scores": "ticket_id",
    "heuristics.evidence": "ticket_id, source, object_id",
}


def snapshot(con, until) -> dict[str, list[tuple]]:
    """Every row of the investigation tables for tickets investigated at or before `until`."""
    out = {}
    for table, order in TABLES.items():
        out[table] = con.execute(
            f"SELECT * FROM {table} WHERE ticket_id IN (SELECT ticket_id FROM "
            f"intermediate.int_ticket_investigations WHERE investigated_at <= $u) ORDER BY {order}",
            {"u": until}).fetchall()
    return out


def add_later_data(con) -> None:
    """Everything here is stamped strictly after T0."""
    for org in ("org_a", "org_b", "org_d", "org_f", "org_g", "org_l"):
        insert_traffic(con, org, T0, T0 + 30 * M, service="svc_new", endpoint="/v1/new",
                       status=500, requests=50, error_code="later_code", p95=5000.0)
    insert_traffic(con, "org_c", T0, T0 + 10 * M, service="svc_core", endpoint="/v1/core",
                   status=429, requests=500, error_code="rate_limited")
    # a later deploy of the failing service, and a deploy created before T0 that only went
    # live after it
    insert(con, "staging.stg_github__deployments", [
        deployment(600, "svc_pay", T0 + M), deployment(601, "svc_pay", T0 - 20 * M)])
    insert(con, "staging.stg_github__deployment_statuses", [
        deployment_status(60, 600, T0 + 2 * M), deployment_status(61, 601, T0 + 3 * M)])
    # billing: the invoice is paid sooner than before (still after T0), a new one appears,
    # a charge fails later, the subscription recovers later
    con.execute("UPDATE staging.stg_stripe__invoices SET paid_at = $t WHERE invoice_id = 'in_d1'",
                {"t": T0 + M})
    insert(con, "staging.stg_stripe__invoices", [
        {"invoice_id": "in_f2", "customer_id": "cus_f", "subscription_id": "sub_f",
         "status": "open", "amount_due": 100, "amount_remaining": 100, "currency": "usd",
         "attempt_count": 1, "created_at": T0 + H, "due_at": T0 + 2 * H}])
    insert(con, "staging.stg_stripe__charges", [
        {"charge_id": "ch_f9", "customer_id": "cus_f", "status": "failed", "amount": 100,
         "currency": "usd", "failure_code": "expired_card", "created_at": T0 + 5 * M}])
    con.execute("UPDATE staging.stg_stripe__subscription_history SET valid_to = $t "
                "WHERE subscription_id = 'sub_d' AND status = 'past_due'", {"t": T0 + H})
    insert(con, "staging.stg_stripe__subscription_history", [
        {"subscription_id": "sub_d", "customer_id": "cus_d", "price_id": "price_big",
         "status": "active", "valid_from": T0 + H, "valid_to": None}])
    # Linear: the known bug is completed later; a new matching issue is filed later
    con.execute("UPDATE staging.stg_linear__issues SET completed_at = $t, state_type = "
                "'completed' WHERE identifier = 'BUG-1'", {"t": T0 + 30 * M})
    insert(con, "staging.stg_linear__issues", [
        linear_issue("BUG-9", "Exports fail again", "export_failed on /v1/exports", T0 + M)])
    # help desk: later tickets, a later relabel of the old ticket's cause
    insert(con, "staging.stg_zendesk__tickets", [
        ticket(120, 1, T0 + 5 * M, "More errors", "later_code on /v1/new"),
        ticket(121, 3, T0 + H, "Again", "429")])
    insert(con, "staging.stg_zendesk__ticket_field_history", [
        {"ticket_id": 110, "field_name": "root_cause", "value": "known_bug",
         "updated_at": T0 + H, "event_id": 3},
        {"ticket_id": 101, "field_name": "status", "value": "solved",
         "updated_at": T0 + 2 * H, "event_id": 4},
        {"ticket_id": 101, "field_name": "root_cause", "value": "deploy_regression",
         "updated_at": T0 + 2 * H, "event_id": 5}])


def test_later_data_changes_no_feature_of_earlier_tickets():
    con = duckdb.connect()
    build_scenario(con)
    investigate(con)
    before = snapshot(con, T0)
    assert len(before["features.fct_ticket_features"]) == 9  # all but the T1 ticket
    add_later_data(con)
    investigate(con)
    after = snapshot(con, T0)
    for table in TABLES:
        assert after[table] == before[table], table
    # the later data is visible to a ticket investigated after it
    # (1h before T0+5m: 600 ok + 40 x 5 internal_error + 5 x 50 later_code)
    later = con.execute("SELECT org_rate_5xx_1h, text_error_codes, failing_error_codes_24h "
                        "FROM features.fct_ticket_features WHERE ticket_id = 120").fetchall()
    assert later == [(pytest.approx(450 / 1050), ["later_code"],
                      ["internal_error", "later_code"])]
    con.close()


def test_live_investigation_sees_data_up_to_its_own_time():
    con = duckdb.connect()
    build_scenario(con)
    add_later_data(con)
    investigate(con, ticket_ids=[102, 104], as_of=T0 + 2 * H)
    got = dict(con.execute(
        "SELECT ticket_id, best_rule_cause FROM heuristics.rule_scores").fetchall())
    # at T0+2h BUG-1 is completed (BUG-9 is open and matches), the subscription is active
    # again and the invoice is paid: no billing issue any more
    assert got[102] == "known_bug"
    assert got[104] != "billing_issue"
    top = con.execute("SELECT identifier FROM features.ticket_linear_matches "
                      "WHERE ticket_id = 102 AND match_rank = 1").fetchall()
    assert top == [("BUG-9",)]
    assert T1 > T0 + 2 * H
    con.close()
