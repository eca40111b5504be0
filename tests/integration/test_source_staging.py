"""Staging models of the four vendor sources over raw tables loaded from the demo servers
(tiny world at its end): the contract's columns, types and values."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pytest

from altor_pipelines.sources.github import github_source
from altor_pipelines.sources.linear import linear_source
from altor_pipelines.sources.stripe import stripe_source
from altor_pipelines.sources.sync import make_pipeline
from altor_pipelines.sources.zendesk import zendesk_source
from altor_pipelines.warehouse import sql_runner
from altor_sim.servers import start_servers
from tests.fixtures.tiny_world import ROOT_CAUSE_FIELD
from tests.integration.test_source_support import LONG_AGO, TINY_END

VENDORS = ("zendesk", "stripe", "linear", "github")
CONTRACT = {  # docs/warehouse-tables.md
    "stg_zendesk__tickets": "ticket_id organization_id requester_id submitter_id assignee_id "
    "group_id subject description status priority ticket_type channel tags recorded_root_cause "
    "created_at updated_at is_deleted",
    "stg_zendesk__ticket_comments": "comment_id ticket_id author_id is_public body created_at",
    "stg_zendesk__ticket_field_history": "ticket_id field_name value previous_value updated_at "
    "updater_id event_id",
    "stg_zendesk__ticket_metrics": "ticket_metric_id ticket_id replies reopens group_stations "
    "assignee_stations first_reply_time_calendar_minutes first_reply_time_business_minutes "
    "first_resolution_time_calendar_minutes first_resolution_time_business_minutes "
    "full_resolution_time_calendar_minutes full_resolution_time_business_minutes solved_at "
    "updated_at",
    "stg_zendesk__organizations": "organization_id organization_name external_id created_at",
    "stg_zendesk__users": "user_id user_name email role organization_id",
    "stg_zendesk__groups": "group_id group_name is_engineering",
    "stg_stripe__customers": "customer_id org_id customer_name email is_delinquent created_at",
    "stg_stripe__products": "product_id product_name is_active rate_limit_per_minute "
    "monthly_request_quota",
    "stg_stripe__prices": "price_id product_id unit_amount currency interval "
    "rate_limit_per_minute monthly_request_quota",
    "stg_stripe__subscriptions": "subscription_id customer_id price_id product_id status "
    "created_at canceled_at current_period_start",
    "stg_stripe__subscription_history": "subscription_id customer_id price_id status "
    "valid_from valid_to",
    "stg_stripe__invoices": "invoice_id customer_id subscription_id status amount_due "
    "amount_paid amount_remaining currency attempt_count created_at due_at paid_at voided_at",
    "stg_stripe__charges": "charge_id customer_id invoice_id status amount currency "
    "failure_code failure_message outcome_reason created_at",
    "stg_linear__issues": "issue_id identifier title description priority state_name "
    "state_type team_key labels created_at updated_at completed_at canceled_at url",
    "stg_github__deployments": "deployment_id sha ref service environment description "
    "created_at url",
    "stg_github__deployment_statuses": "deployment_status_id deployment_id state description "
    "created_at",
    "stg_github__releases": "release_id tag_name release_name body created_at published_at url",
    "stg_github__commits": "sha message committed_at files url",
}


def t(s: str) -> datetime:
    return datetime.fromisoformat(s)


@pytest.fixture(scope="module")
def staged(tiny_world, tmp_path_factory) -> duckdb.DuckDBPyConnection:
    tmp = tmp_path_factory.mktemp("staging")
    wh = tmp / "warehouse.duckdb"
    with start_servers(tiny_world, as_of=TINY_END) as s:
        sources = {
            "zendesk": zendesk_source(s.urls["zendesk"], "a@b.c", s.tokens["zendesk"], LONG_AGO,
                                      page_size=2),
            "stripe": stripe_source(s.urls["stripe"], s.tokens["stripe"], page_size=2),
            "linear": linear_source(s.urls["linear"], s.tokens["linear"], page_size=2),
            "github": github_source(s.urls["github"], s.tokens["github"], "acme/api",
                                    page_size=2),
        }
        for name, src in sources.items():
            make_pipeline(name, wh, tmp / "dlt").run(src)
    con = duckdb.connect(str(wh))
    models = {k: m for k, m in sql_runner.discover(["staging"]).items()
              if m.name.split("__")[0].removeprefix("stg_") in VENDORS}
    assert {m.name for m in models.values()} == set(CONTRACT)
    for model in sql_runner.ordered(models):
        sql_runner.run_model(con, model, {"root_cause_field_id": ROOT_CAUSE_FIELD})
    yield con
    con.close()


def rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


@pytest.mark.parametrize("table", sorted(CONTRACT))
def test_staging_model_has_the_contract_columns_and_utc_timestamps(staged, table):
    described = rows(staged, f"DESCRIBE staging.{table}")
    assert [c[0] for c in described] == CONTRACT[table].split()
    assert not [c for c in described if "TIME ZONE" in c[1]]
    assert rows(staged, f"SELECT count(*) FROM staging.{table}")[0][0] > 0


def test_zendesk_tickets_carry_the_recorded_root_cause_and_deletions(staged):
    got = rows(staged, "SELECT ticket_id, status, recorded_root_cause, is_deleted, group_id, "
                       "updated_at FROM staging.stg_zendesk__tickets ORDER BY 1")
    assert got == [
        (1, "solved", "deploy_regression", False, 20, t("2026-06-01 15:00")),
        (2, "solved", "billing_issue", False, 30, t("2026-06-01 13:00")),
        (3, "new", None, False, 10, t("2026-06-02 14:00")),
        (4, "deleted", None, True, 10, t("2026-06-02 16:30")),
    ]


def test_zendesk_field_history_from_ticket_events(staged):
    got = rows(staged, "SELECT field_name, value, previous_value, updated_at "
                       "FROM staging.stg_zendesk__ticket_field_history WHERE ticket_id = 1 "
                       "AND field_name IN ('group_id', 'status', 'root_cause') ORDER BY 4, 1")
    assert got == [
        ("group_id", "10", None, t("2026-06-01 10:05")),
        ("status", "new", None, t("2026-06-01 10:05")),
        ("group_id", "20", "10", t("2026-06-01 11:00")),
        ("status", "open", "new", t("2026-06-01 11:00")),
        ("root_cause", "deploy_regression", None, t("2026-06-01 15:00")),
        ("status", "solved", "open", t("2026-06-01 15:00")),
    ]


def test_zendesk_comments_metrics_and_dimensions(staged):
    assert rows(staged, "SELECT comment_id, is_public FROM staging.stg_zendesk__ticket_comments "
                        "WHERE ticket_id = 1 ORDER BY 1") == [(5001, True), (5002, False),
                                                              (5003, True)]
    assert rows(staged, "SELECT first_reply_time_calendar_minutes, "
                        "full_resolution_time_business_minutes, solved_at "
                        "FROM staging.stg_zendesk__ticket_metrics WHERE ticket_id = 1") == [
        (295, 295, t("2026-06-01 15:00"))]
    assert rows(staged, "SELECT organization_id, external_id "
                        "FROM staging.stg_zendesk__organizations ORDER BY 1") == [
        (1, "org_1"), (2, "org_2"), (3, "org_3")]
    assert rows(staged, "SELECT group_id FROM staging.stg_zendesk__groups "
                        "WHERE is_engineering") == [(20,)]
    assert rows(staged, "SELECT role FROM staging.stg_zendesk__users WHERE user_id = 900") == [
        ("agent",)]


def test_stripe_subscription_history_goes_active_then_past_due(staged):
    assert rows(staged, "SELECT status, valid_from, valid_to "
                        "FROM staging.stg_stripe__subscription_history "
                        "WHERE subscription_id = 'sub_2' ORDER BY valid_from") == [
        ("active", t("2026-01-03 00:00"), t("2026-06-01 11:30")),
        ("past_due", t("2026-06-01 11:30"), None),
    ]
    assert rows(staged, "SELECT status, price_id, product_id FROM "
                        "staging.stg_stripe__subscriptions WHERE subscription_id = 'sub_2'") == [
        ("past_due", "price_starter", "prod_starter")]


def test_stripe_billing_values(staged):
    assert rows(staged, "SELECT customer_id, org_id, is_delinquent FROM "
                        "staging.stg_stripe__customers ORDER BY 1") == [
        ("cus_1", "org_1", False), ("cus_2", "org_2", True)]
    assert rows(staged, "SELECT price_id, rate_limit_per_minute, monthly_request_quota FROM "
                        "staging.stg_stripe__prices ORDER BY 1") == [
        ("price_scale", 600, 5_000_000), ("price_starter", 60, 100_000)]
    assert rows(staged, "SELECT status, amount_remaining, attempt_count, paid_at FROM "
                        "staging.stg_stripe__invoices") == [("open", 4900, 1, None)]
    assert rows(staged, "SELECT failure_code, outcome_reason, created_at FROM "
                        "staging.stg_stripe__charges") == [
        ("card_declined", "insufficient_funds", t("2026-06-01 11:30"))]


def test_linear_issue_completed_with_labels(staged):
    assert rows(staged, "SELECT identifier, state_type, labels, completed_at, priority "
                        "FROM staging.stg_linear__issues") == [
        ("ENG-1", "completed", ["Bug"], t("2026-06-01 14:50"), 1)]


def test_github_deploys_statuses_commits(staged):
    assert rows(staged, "SELECT deployment_id, service, created_at FROM "
                        "staging.stg_github__deployments ORDER BY 1") == [
        (9001, "charges", t("2026-06-01 09:55")), (9002, "charges", t("2026-06-01 14:45"))]
    assert rows(staged, "SELECT deployment_id, state FROM staging.stg_github__deployment_statuses "
                        "ORDER BY 1") == [(9001, "success"), (9002, "success")]
    assert rows(staged, "SELECT files FROM staging.stg_github__commits") == [
        (["services/charges/handler.py"],), (["services/charges/handler.py"],)]
    assert rows(staged, "SELECT tag_name FROM staging.stg_github__releases") == [("v1.0.0",)]
