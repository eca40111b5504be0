"""int_account_spine links help desk, Stripe and request logs, and lists what does not match."""

from __future__ import annotations

import duckdb

from altor_pipelines.warehouse.sql_runner import discover, run_model


def _staging(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("CREATE SCHEMA staging")
    con.execute("""CREATE TABLE staging.stg_zendesk__organizations AS SELECT * FROM (VALUES
        (1, 'Alpha', 'org_a', TIMESTAMP '2026-01-01'),
        (2, 'Beta', 'org_b', TIMESTAMP '2026-01-01'),
        (3, 'Gamma', 'org_c', TIMESTAMP '2026-01-01'),
        (4, 'No external id', NULL, TIMESTAMP '2026-01-01'))
        t(organization_id, organization_name, external_id, created_at)""")
    con.execute("""CREATE TABLE staging.stg_stripe__customers AS SELECT * FROM (VALUES
        ('cus_a', 'org_a', 'Alpha Inc', 'a@x.test', false, TIMESTAMP '2026-01-01'),
        ('cus_b', 'org_b', 'Beta Inc', 'b@x.test', false, TIMESTAMP '2026-01-01'),
        ('cus_d', 'org_d', 'Delta Inc', 'd@x.test', false, TIMESTAMP '2026-01-01'),
        ('cus_x', NULL, 'Orphan', 'x@x.test', false, TIMESTAMP '2026-01-01'))
        t(customer_id, org_id, customer_name, email, is_delinquent, created_at)""")
    con.execute("""CREATE TABLE staging.stg_clickhouse__org_hours AS SELECT * FROM (VALUES
        ('org_a', TIMESTAMP '2026-06-01 10:00', 5, 0, TIMESTAMP '2026-06-01 10:00',
         TIMESTAMP '2026-06-01 10:00'),
        ('org_c', TIMESTAMP '2026-06-01 10:00', 5, 0, TIMESTAMP '2026-06-01 10:00',
         TIMESTAMP '2026-06-01 10:00'),
        ('org_e', TIMESTAMP '2026-06-01 10:00', 5, 0, TIMESTAMP '2026-06-01 10:00',
         TIMESTAMP '2026-06-01 10:00'))
        t(org_id, hour, requests, n_429, first_minute, last_minute)""")


def test_spine_matches_and_lists_unmatched_accounts() -> None:
    con = duckdb.connect()
    _staging(con)
    run_model(con, discover(["intermediate"])["intermediate.int_account_spine"])
    rows = con.execute("""SELECT org_id, zendesk_organization_id, stripe_customer_id,
                                 has_traffic, match_status
                          FROM intermediate.int_account_spine ORDER BY org_id""").fetchall()
    assert rows == [
        ("org_a", 1, "cus_a", True, "matched"),
        ("org_b", 2, "cus_b", False, "no_traffic"),
        ("org_c", 3, None, True, "no_stripe_customer"),
        ("org_d", None, "cus_d", False, "no_helpdesk_organization"),
        ("org_e", None, None, True, "no_helpdesk_organization"),
        ("stripe:cus_x", None, "cus_x", False, "no_helpdesk_organization"),
    ]
