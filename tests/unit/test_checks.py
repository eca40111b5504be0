"""Each asset check fails on a tiny warehouse built to break it and passes on good data."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from altor_pipelines.defs import checks, checks_accounts, checks_diagnosis, checks_tables
from altor_pipelines.defs.resources import AltorResource
from altor_pipelines.warehouse.sql_runner import discover, run_model
from tests.fixtures.warehouse_fixtures import (
    create_tables,
    insert,
    insert_traffic,
    org_hours_from_minutes,
)

AS_OF = datetime(2026, 3, 1, 12, 0)
M, D = timedelta(minutes=1), timedelta(days=1)


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


# --------------------------------------------------------------------------- primary keys

def test_duplicate_raw_ids_fail_and_name_the_key(con) -> None:
    con.execute("CREATE SCHEMA raw_zendesk")
    con.execute("CREATE TABLE raw_zendesk.tickets AS SELECT * FROM (VALUES (1, 'a'), (2, 'b'), "
                "(2, 'c'), (3, 'd'), (3, 'e'), (3, 'f')) AS t(id, subject)")
    out = checks_tables.duplicate_keys(con, "raw_zendesk.tickets", ("id",))
    assert not out.passed
    assert "raw_zendesk.tickets has 2 duplicated primary key value(s) (id)" in out.message
    assert "id=3 (3 rows)" in out.message and "id=2 (2 rows)" in out.message
    assert out.metadata["duplicated_keys"] == 2


def test_unique_raw_ids_pass(con) -> None:
    con.execute("CREATE SCHEMA raw_github")
    con.execute("CREATE TABLE raw_github.commits AS SELECT * FROM (VALUES ('a1'), ('b2')) t(sha)")
    assert checks_tables.duplicate_keys(con, "raw_github.commits", ("sha",)).passed


def test_staging_key_defaults_to_the_contracts_first_column(con) -> None:
    create_tables(con)
    insert(con, "staging.stg_stripe__customers",
           [{"customer_id": "cus_1", "org_id": "o1"}, {"customer_id": "cus_2", "org_id": "o1"}])
    assert checks_tables.duplicate_keys(con, "staging.stg_stripe__customers").passed
    insert(con, "staging.stg_stripe__customers", [{"customer_id": "cus_2", "org_id": "o2"}])
    out = checks_tables.duplicate_keys(con, "staging.stg_stripe__customers")
    assert not out.passed and "customer_id=cus_2 (2 rows)" in out.message


def test_composite_staging_key(con) -> None:
    create_tables(con)
    key = checks.STAGING_KEYS["stg_zendesk__ticket_field_history"]
    rows = [{"ticket_id": 1, "field_name": "status", "event_id": 10},
            {"ticket_id": 1, "field_name": "group_id", "event_id": 10}]
    insert(con, "staging.stg_zendesk__ticket_field_history", rows)
    assert checks_tables.duplicate_keys(
        con, "staging.stg_zendesk__ticket_field_history", key).passed
    insert(con, "staging.stg_zendesk__ticket_field_history", rows[:1])
    out = checks_tables.duplicate_keys(con, "staging.stg_zendesk__ticket_field_history", key)
    assert not out.passed and "event_id=10 field_name=status (2 rows)" in out.message


def test_missing_table_is_skipped_and_missing_key_column_fails(con) -> None:
    out = checks_tables.duplicate_keys(con, "raw_linear.labels", ("id",))
    assert out.passed and out.message.startswith("Not checked:")
    con.execute("CREATE SCHEMA raw_linear")
    con.execute("CREATE TABLE raw_linear.labels (name VARCHAR)")
    out = checks_tables.duplicate_keys(con, "raw_linear.labels", ("id",))
    assert not out.passed and "no column id" in out.message


# --------------------------------------------------------------------------- account spine

def _spine_world(con, *, orphan_traffic: bool = False, orphan_subscription: bool = False,
                 canceled_orphan: bool = False) -> None:
    create_tables(con)
    insert(con, "staging.stg_zendesk__organizations",
           [{"organization_id": 1, "organization_name": "Acme", "external_id": "org_a"},
            {"organization_id": 2, "organization_name": "Beta", "external_id": "org_b"}])
    customers = [{"customer_id": "cus_a", "org_id": "org_a"},
                 {"customer_id": "cus_b", "org_id": "org_b"}]
    subs = [{"subscription_id": "sub_a", "customer_id": "cus_a", "status": "active"},
            {"subscription_id": "sub_b", "customer_id": "cus_b", "status": "past_due"}]
    insert_traffic(con, "org_a", AS_OF - 2 * D, AS_OF - 2 * D + 3 * M)  # 3 minutes
    if orphan_subscription or canceled_orphan:  # a paying customer the help desk does not know
        customers.append({"customer_id": "cus_z", "org_id": "org_z"})
        subs.append({"subscription_id": "sub_z", "customer_id": "cus_z",
                     "status": "canceled" if canceled_orphan else "active"})
    if orphan_traffic:  # traffic from an org with no Stripe customer and no organization
        insert_traffic(con, "org_x", AS_OF - 3 * D, AS_OF - 3 * D + 2 * M)
    # old traffic (more than 30 days) from an unknown org does not make it active
    insert_traffic(con, "org_old", AS_OF - 45 * D, AS_OF - 45 * D + 2 * M)
    insert(con, "staging.stg_stripe__customers", customers)
    insert(con, "staging.stg_stripe__subscriptions", subs)
    org_hours_from_minutes(con)
    run_model(con, discover(["intermediate"])["intermediate.int_account_spine"])


def test_spine_passes_when_every_active_customer_is_matched(con) -> None:
    _spine_world(con, canceled_orphan=True)
    out = checks_accounts.unmatched_active_customers(con, AS_OF)
    assert out.passed, out.message


def test_spine_fails_on_active_customers_missing_from_a_system(con) -> None:
    _spine_world(con, orphan_traffic=True, orphan_subscription=True)
    out = checks_accounts.unmatched_active_customers(con, AS_OF.replace(tzinfo=UTC))
    assert not out.passed
    assert out.message.startswith("2 active customer(s) are not matched")
    assert ("org_x (traffic in the last 30 days): no help-desk organization and no Stripe "
            "customer") in out.message
    assert "org_z (an active subscription): no help-desk organization." in out.message
    assert "org_old" not in out.message


# --------------------------------------------------------------------------- freshness

def _loads(con, source: str, *inserted: tuple[datetime, int]) -> None:
    con.execute(f"CREATE SCHEMA IF NOT EXISTS raw_{source}")
    con.execute(f"CREATE TABLE raw_{source}._dlt_loads (load_id VARCHAR, schema_name VARCHAR, "
                "status BIGINT, inserted_at TIMESTAMP WITH TIME ZONE)")
    con.executemany(f"INSERT INTO raw_{source}._dlt_loads VALUES (?, ?, ?, ?)",
                    [[str(i), source, status, t] for i, (t, status) in enumerate(inserted)])


def test_fresh_source_passes(con) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    _loads(con, "zendesk", (now - timedelta(minutes=4), 0))
    out = checks_tables.source_freshness(con, "zendesk", now, timedelta(minutes=15))
    assert out.passed and out.metadata["age_minutes"] == 4.0


def test_stale_source_fails_and_says_how_old(con) -> None:
    now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    # an unfinished load (status 1) just now does not count as fresh
    _loads(con, "stripe", (now - timedelta(minutes=50), 0), (now - timedelta(minutes=1), 1))
    out = checks_tables.source_freshness(con, "stripe", now, timedelta(minutes=45))
    assert not out.passed
    assert "stripe is stale: last successful load 2026-03-01 11:10 UTC, 50.0 minutes ago" in (
        out.message)


def test_never_loaded_source_fails(con) -> None:
    out = checks_tables.source_freshness(con, "linear", datetime.now(UTC), timedelta(minutes=30))
    assert not out.passed and "raw_linear has never been loaded" in out.message


# --------------------------------------------------------------------------- row counts

def test_row_count_drop() -> None:
    assert checks_tables.row_count_drop("t", [80, 100]).passed
    assert checks_tables.row_count_drop("t", [5, 0]).passed
    assert checks_tables.row_count_drop("t", [100]).message.startswith("Not checked:")
    out = checks_tables.row_count_drop("raw_zendesk.tickets", [60, 100])
    assert not out.passed
    assert "raw_zendesk.tickets shrank from 100 to 60 rows (40% fewer" in out.message


def test_row_counts_are_read_from_the_instance() -> None:
    instance = dg.DagsterInstance.ephemeral()
    key = dg.AssetKey(["staging", "stg_x"])
    for n in (10, 12, 7):
        instance.report_runless_asset_event(
            dg.AssetMaterialization(key, metadata={"dagster/row_count": n}))
    assert checks_tables.recent_row_counts(instance, key) == [7, 12]


# --------------------------------------------------------------------------- coverage

def _tickets_and_features(con, feature_ids: list[int]) -> None:
    create_tables(con)
    insert(con, "staging.stg_zendesk__tickets",
           [{"ticket_id": 1}, {"ticket_id": 2}, {"ticket_id": 3, "is_deleted": True}])
    con.execute("CREATE SCHEMA features")
    con.execute("CREATE TABLE features.fct_ticket_features (ticket_id BIGINT, x DOUBLE)")
    con.executemany("INSERT INTO features.fct_ticket_features VALUES (?, 0)",
                    [[i] for i in feature_ids])


def test_every_ticket_has_features(con) -> None:
    _tickets_and_features(con, [1, 2])
    assert checks_diagnosis.tickets_without_features(con).passed
    con.execute("DELETE FROM features.fct_ticket_features WHERE ticket_id = 2")
    out = checks_diagnosis.tickets_without_features(con)
    assert not out.passed and "1 ticket(s) have no features" in out.message
    assert "ticket ids 2" in out.message


def test_diagnosis_check_skips_until_the_table_exists_then_checks(con) -> None:
    _tickets_and_features(con, [1, 2])
    out = checks_diagnosis.tickets_without_diagnosis(con)
    assert out.passed and out.message.startswith("Not checked: diagnosis.diagnoses not built")
    con.execute("CREATE SCHEMA diagnosis")
    con.execute("CREATE TABLE diagnosis.diagnoses (ticket_id BIGINT, cause VARCHAR, "
                "abstained BOOLEAN)")
    assert checks_diagnosis.tickets_without_diagnosis(con).message.startswith("Not checked:")
    con.execute("INSERT INTO diagnosis.diagnoses VALUES (1, 'plan_limit', false), "
                "(2, NULL, false)")
    out = checks_diagnosis.tickets_without_diagnosis(con)
    assert not out.passed
    assert "1 ticket(s) have neither a diagnosis nor an explicit abstention" in out.message
    con.execute("INSERT INTO diagnosis.diagnoses VALUES (2, NULL, true)")  # abstention
    assert checks_diagnosis.tickets_without_diagnosis(con).passed


# --------------------------------------------------------------------------- serving model

def _register(root: Path, feature_sql_hash: str) -> None:
    from altor_pipelines.ml import registry

    version = "20260301T000000Z"
    (root / version).mkdir(parents=True)
    (root / version / "metadata.json").write_text(json.dumps({
        "version": version, "feature_sql_hash": feature_sql_hash,
        "library_versions": registry.library_versions()}))
    (root / "CURRENT").write_text(version + "\n")


def test_serving_model_skips_without_a_model(tmp_path: Path) -> None:
    out = checks_diagnosis.serving_model_matches(tmp_path)
    assert out.passed and "no triage model is serving yet" in out.message


def test_serving_model_matches_feature_sql(tmp_path: Path) -> None:
    from altor_pipelines.ml import registry

    _register(tmp_path / "triage", registry.feature_sql_hash())
    assert checks_diagnosis.serving_model_matches(tmp_path).passed


def test_serving_model_built_on_other_feature_sql_fails(tmp_path: Path) -> None:
    _register(tmp_path / "triage", "0" * 64)
    out = checks_diagnosis.serving_model_matches(tmp_path)
    assert not out.passed
    assert "The serving triage model 20260301T000000Z does not match" in out.message
    assert "feature SQL hash 000000000000" in out.message


# --------------------------------------------------------------------------- in Dagster

def test_checks_run_after_the_asset_and_show_their_message(tmp_path, monkeypatch) -> None:
    """The wiring: a run materialises a raw table, then its check step reads the warehouse
    read-only and reports failure with the message; the row-count check reads the instance."""
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("ALTOR_WAREHOUSE_PATH", str(warehouse))
    key = dg.AssetKey(["raw_github", "commits"])
    shas: list[str] = ["a", "b", "c", "d"]

    @dg.asset(key=key)
    def commits() -> dg.MaterializeResult:
        with duckdb.connect(str(warehouse)) as c:
            c.execute("CREATE SCHEMA IF NOT EXISTS raw_github")
            c.execute("CREATE OR REPLACE TABLE raw_github.commits (sha VARCHAR)")
            c.executemany("INSERT INTO raw_github.commits VALUES (?)", [[s] for s in shas])
        return dg.MaterializeResult(metadata={"dagster/row_count": len(shas)})

    defs = checks.asset_checks({key})
    assert [d.node_def.name for d in defs] == ["raw_github_checks"]
    instance = dg.DagsterInstance.ephemeral()
    run = dg.materialize([commits, *defs], resources={"altor": AltorResource()},
                         instance=instance)
    results = {e.check_name: e for e in run.get_asset_check_evaluations()}
    assert results[checks.PK_CHECK].passed
    assert results[checks.ROW_DROP_CHECK].passed  # first materialisation: nothing to compare

    shas[:] = ["a", "a"]  # duplicated and halved
    run = dg.materialize([commits, *defs], resources={"altor": AltorResource()},
                         instance=instance, raise_on_error=False)
    results = {e.check_name: e for e in run.get_asset_check_evaluations()}
    pk, drop = results[checks.PK_CHECK], results[checks.ROW_DROP_CHECK]
    assert not pk.passed and "sha=a (2 rows)" in pk.description
    assert not drop.passed and drop.severity == dg.AssetCheckSeverity.WARN
    assert "shrank from 4 to 2 rows" in drop.description


def test_delivered_share_under_the_floor_or_precision_under_target_fails(con, tmp_path) -> None:
    assert checks_diagnosis.delivered_share_and_precision(con, tmp_path, 0.5).metadata["status"] \
        == "skipped"
    con.execute("CREATE SCHEMA diagnosis")
    con.execute("CREATE TABLE diagnosis.diagnoses (ticket_id BIGINT, model_version VARCHAR, "
                "cause VARCHAR, abstained BOOLEAN, decided_by VARCHAR, diagnosed_at TIMESTAMP)")
    con.execute("INSERT INTO diagnosis.diagnoses VALUES "
                "(1, 'v1', 'plan_limit', false, 'model', '2026-03-01 10:00'), "
                "(2, 'v1', 'billing_issue', false, 'rule', '2026-03-01 10:00'), "
                "(3, 'v1', NULL, true, 'abstain', '2026-03-01 10:00'), "
                "(4, 'v1', NULL, true, 'abstain', '2026-03-01 10:00'), "
                "(1, 'v0', 'plan_limit', false, 'model', '2026-02-01 10:00')")
    # the newest version, v1: 2 of 4 delivered
    out = checks_diagnosis.delivered_share_and_precision(con, tmp_path, 0.6)
    assert not out.passed and "delivered a cause for 2 of 4 tickets (50.0%)" in out.message
    assert out.metadata["model_version"] == "v1" and out.metadata["delivered_share"] == 0.5
    assert out.metadata["decided_by"].value == {"abstain": 2, "model": 1, "rule": 1}
    assert checks_diagnosis.delivered_share_and_precision(con, tmp_path, 0.5).passed
    # the registered model's own estimate under its target fails too
    meta = tmp_path / "triage" / "v1"
    meta.mkdir(parents=True)
    (meta / "metadata.json").write_text(json.dumps({"decision": {
        "target_precision": 0.95, "validation": {"estimated_precision": 0.91},
        "abstained_causes": ["novel"]}}))
    out = checks_diagnosis.delivered_share_and_precision(con, tmp_path, 0.5)
    assert not out.passed and "estimated 91.0% right" in out.message
    assert out.metadata["target_precision"] == 0.95


def test_delivered_diagnoses_against_the_causes_agents_recorded(con, tmp_path) -> None:
    """v1 was tested on tickets up to 28 Feb. Since then it delivered 30 known_bug diagnoses
    and 10 how_to; agents kept 29 and 8 of them as the recorded cause: 37 of 40, 92.5%, under
    0.95: the check fails (WARN). Read through the history's recording-error rates (η 0.1 and
    0.2 over 9 causes) that would be (30 x 1.0 + 10 x 1.0) / 40 = 1.0 and pass: the records made
    with the note in view are taken as they are. 38 kept of 40 passes. Tickets the model was
    fitted on, open or deleted ones, abstentions, other versions and tickets without a cause of
    the taxonomy do not count."""
    assert checks_diagnosis.delivered_against_recorded(con, tmp_path).metadata["status"] \
        == "skipped"
    con.execute("CREATE SCHEMA IF NOT EXISTS diagnosis")
    con.execute("CREATE SCHEMA IF NOT EXISTS staging")
    con.execute("CREATE TABLE diagnosis.diagnoses (ticket_id BIGINT, model_version VARCHAR, "
                "cause VARCHAR, abstained BOOLEAN, diagnosed_at TIMESTAMP)")
    con.execute("CREATE TABLE staging.stg_zendesk__tickets (ticket_id BIGINT, "
                "created_at TIMESTAMP, status VARCHAR, is_deleted BOOLEAN, "
                "recorded_root_cause VARCHAR)")
    after, before = "2026-03-02 09:00", "2026-02-20 09:00"

    def load(known_bug_agreeing: int, how_to_agreeing: int = 8) -> None:
        con.execute("DELETE FROM diagnosis.diagnoses")
        con.execute("DELETE FROM staging.stg_zendesk__tickets")
        diagnosed = [(i, "v1", "known_bug", False) for i in range(30)]
        diagnosed += [(i, "v1", "how_to", False) for i in range(30, 40)]
        recorded = [(i, after, "solved", False,
                     "known_bug" if i < known_bug_agreeing else "how_to") for i in range(30)]
        recorded += [(i, after, "closed", False,
                      "how_to" if i < 30 + how_to_agreeing else "known_bug")
                     for i in range(30, 40)]
        # do not count: fitted on (before), open, deleted, abstained, v0, no cause of the taxonomy
        diagnosed += [(i, "v1", "known_bug", False) for i in range(200, 220)]
        recorded += [(i, before, "solved", False, "how_to") for i in range(200, 220)]
        diagnosed += [(300, "v1", "known_bug", False), (301, "v1", "known_bug", False),
                      (302, "v1", None, True), (303, "v0", "how_to", False),
                      (304, "v1", "how_to", False), (305, "v1", "how_to", False)]
        recorded += [(300, after, "open", False, "how_to"), (301, after, "solved", True, "how_to"),
                     (302, after, "solved", False, "known_bug"),
                     (303, after, "solved", False, "known_bug"),
                     (304, after, "solved", False, "not a cause"),
                     (305, after, "solved", False, None)]
        con.executemany("INSERT INTO diagnosis.diagnoses VALUES (?, ?, ?, ?, "
                        "'2026-03-03 10:00')", diagnosed)
        con.executemany("INSERT INTO staging.stg_zendesk__tickets VALUES (?, ?, ?, ?, ?)",
                        recorded)

    load(29)
    # no registered decision for v1: nothing to compare with
    assert checks_diagnosis.delivered_against_recorded(con, tmp_path).metadata["status"] \
        == "skipped"
    meta = tmp_path / "triage" / "v1"
    meta.mkdir(parents=True)
    (meta / "metadata.json").write_text(json.dumps({
        "training_window": {"test": {"from": "2026-02-01 00:00:00",
                                     "to": "2026-02-28 12:00:00"}},
        "decision": {"target_precision": 0.95, "error_rate": 0.1,
                     "error_rates": {"known_bug": 0.1, "how_to": 0.2},
                     "validation": {"estimated_precision": 0.97}}}))
    out = checks_diagnosis.delivered_against_recorded(con, tmp_path)
    assert not out.passed
    assert ("Agents kept 37 of model v1's 40 delivered diagnoses since 2026-02-28 12:00 as the "
            "recorded cause (92.5%), under the target 95%") in out.message
    assert out.metadata["recorded_agreement"] == 0.925
    assert out.metadata["precision_if_records_independent"] == 1.0
    assert out.metadata["by_cause"].value["how_to"] == {
        "delivered": 10, "agreeing": 8, "recording_error_rate": 0.2}
    assert out.metadata["estimated_precision_out_of_fold"] == 0.97
    load(29, how_to_agreeing=9)
    assert checks_diagnosis.delivered_against_recorded(con, tmp_path).passed
    # too few records to say anything yet
    out = checks_diagnosis.delivered_against_recorded(con, tmp_path, min_recorded=41)
    assert out.passed and out.metadata["status"] == "skipped"
    assert "only 40 of model v1's delivered diagnoses since 2026-02-28 12:00" in out.message
