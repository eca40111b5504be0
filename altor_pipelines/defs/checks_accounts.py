"""Checks of the account spine: every active customer matched, every account key owned once."""


from datetime import datetime

import dagster as dg
import duckdb

from altor_pipelines.clock import naive_utc
from altor_pipelines.defs.check_outcome import (
    SAMPLE,
    Outcome,
    columns_of,
    missing_tables,
    table_exists,
)
from altor_pipelines.warehouse.duckdb import sql_text


def unmatched_active_customers(con: duckdb.DuckDBPyConnection, as_of: datetime) -> Outcome:
    """Every active customer (a subscription not canceled, or traffic in the 30 days up to
    `as_of`) has a help-desk organization and a Stripe customer in the account spine."""
    needed = ["intermediate.int_account_spine", "staging.stg_stripe__subscriptions",
              "staging.stg_stripe__customers", "staging.stg_clickhouse__org_hours"]
    missing = missing_tables(con, needed)
    if missing:
        return Outcome.skipped(f"{', '.join(missing)} not built yet")
    rows = con.execute(sql_text("intermediate/checks/active_customers_unmatched.sql"),
                       {"as_of": naive_utc(as_of)}).fetchall()
    if not rows:
        return Outcome(True, "Every active customer is matched across help desk, Stripe and "
                             "request logs.", {"unmatched_active": 0})
    details = "; ".join(f"{org} ({why}): {problem}"
                        for org, why, problem in rows[:SAMPLE])
    more = f" and {len(rows) - SAMPLE} more" if len(rows) > SAMPLE else ""
    return Outcome(False, f"{len(rows)} active customer(s) are not matched in the account "
                          f"spine: {details}{more}. Their tickets get no billing or traffic "
                          "evidence: set the help-desk organization's external_id and the "
                          "Stripe customer's metadata.org_id to the org id of the logs.",
                   {"unmatched_active": len(rows),
                    "org_ids": dg.MetadataValue.json([r[0] for r in rows[:100]])})


def account_key_conflicts(con: duckdb.DuckDBPyConnection) -> Outcome:
    """No org id (the key linking help desk, Stripe and logs) is claimed by two help-desk
    organizations or two Stripe customers (the spine quarantines such keys as
    `duplicate_key`; this check makes them block everything downstream)."""
    if not table_exists(con, "intermediate.int_account_spine"):
        return Outcome.skipped("intermediate.int_account_spine not built yet")
    if "conflicting_ids" not in columns_of(con, "intermediate.int_account_spine"):
        return Outcome(False, "intermediate.int_account_spine has no conflicting_ids column: "
                              "rebuild it from sql/intermediate/int_account_spine.sql.")
    rows = con.execute(sql_text("intermediate/checks/account_key_conflicts.sql")).fetchall()
    if not rows:
        return Outcome(True, "Every account key (org id) belongs to at most one help-desk "
                             "organization and one Stripe customer.", {"duplicate_keys": 0})
    details = "; ".join(f"{org!r} claimed by {', '.join(ids or [])}" for org, ids in rows[:SAMPLE])
    more = f" and {len(rows) - SAMPLE} more" if len(rows) > SAMPLE else ""
    return Outcome(False, f"{len(rows)} account key(s) are claimed by more than one "
                          f"organization or customer: {details}{more}. They are quarantined "
                          "(no billing or traffic evidence is linked to them) and the features "
                          "are not rebuilt until each key names one account: fix the help-desk "
                          "organization's external_id or the Stripe customer's metadata.org_id.",
                   {"duplicate_keys": len(rows),
                    "org_ids": dg.MetadataValue.json([r[0] for r in rows[:100]])})
