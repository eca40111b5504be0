"""Guards an operator relies on: a mistyped path is never deleted, a source with no rows for a
table still leaves that table (empty, typed), and an account key claimed twice is quarantined
and blocks the features."""

from __future__ import annotations

import shutil

import dagster as dg
import duckdb
import pytest
from typer.testing import CliRunner

from altor_pipelines.cli import app
from altor_pipelines.defs import checks, checks_accounts
from altor_pipelines.defs.resources import AltorResource
from altor_pipelines.errors import AltorError
from altor_pipelines.operations.run import ensure_dagster_home, failure_lines, run_batch
from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.sql_runner import discover, run_model
from altor_sim.clickhouse.loader import load_request_logs
from altor_sim.environment import served_world_environment
from altor_sim.servers import start_servers
from altor_sim.world.generator import GENERATOR, WorldParams, generate_world
from tests.faults.harness import Outcome, make_source, record
from tests.fixtures.warehouse_fixtures import create_tables, insert
from tests.integration.test_source_support import TINY_END, Runner, query

pytestmark = pytest.mark.faults


def test_generate_refuses_to_delete_a_directory_that_is_not_its_world(tmp_path):
    precious = tmp_path / "thesis"
    precious.mkdir()
    (precious / "chapter1.tex").write_text("years of work")
    result = CliRunner().invoke(app, ["demo", "generate", "--out", str(precious), "--days", "2",
                                      "--customers", "2", "--tickets-per-week", "5"])
    assert result.exit_code == 2
    assert "refusing to delete" in result.output and "Traceback" not in result.output
    assert (precious / "chapter1.tex").read_text() == "years of work"
    # another generator's world (foreign world.json) is not ours to delete either
    (precious / "world.json").write_text('{"format": "altor-world/1", "generator": "other 1.0"}')
    with pytest.raises(AltorError, match="refusing to delete"):
        generate_world(precious, WorldParams(days=2, customers=2, tickets_per_week=5))
    assert (precious / "chapter1.tex").exists()
    record("guard:rmtree_mistyped_path", "guards", True, Outcome(), 1)


def test_generate_replaces_its_own_world_and_fills_an_empty_directory(tmp_path):
    params = WorldParams(days=2, customers=2, tickets_per_week=5, requests_per_minute=1)
    empty = tmp_path / "empty"
    empty.mkdir()
    generate_world(empty, params)
    assert GENERATOR in (empty / "world.json").read_text()
    (empty / "stale.txt").write_text("left by an earlier run")
    generate_world(empty, params)  # its own world: replaced whole
    assert not (empty / "stale.txt").exists() and (empty / "world.json").exists()


def test_a_help_desk_without_comments_still_leaves_a_typed_comments_table(tiny_world, tmp_path):
    world = tmp_path / "world"
    shutil.copytree(tiny_world, world)
    (world / "zendesk" / "ticket_comments.jsonl").write_text("")
    with start_servers(world, as_of=TINY_END) as servers:
        runner = Runner("zendesk", tmp_path, lambda: make_source(
            "zendesk", servers.urls["zendesk"], servers.tokens["zendesk"]))
        runner.run()
    wh = runner.warehouse
    assert query(wh, "SELECT count(*) FROM raw_zendesk.ticket_comments") == [(0,)]
    types = dict(query(wh, "SELECT column_name, data_type FROM information_schema.columns "
                           "WHERE table_schema = 'raw_zendesk' AND table_name = 'ticket_comments'"))
    assert types["id"] == "BIGINT" and types["ticket_id"] == "BIGINT"
    assert types["body"] == "VARCHAR" and types["public"] == "BOOLEAN"
    con = duckdb.connect(str(wh))
    try:
        run_model(con, discover(["staging"])["staging.stg_zendesk__ticket_comments"])
        assert con.execute("SELECT count(*) FROM staging.stg_zendesk__ticket_comments"
                           ).fetchall() == [(0,)]
    finally:
        con.close()
    record("guard:empty_source_table_typed", "guards", True, Outcome(), 1)


def _batch_without(tiny_world, tmp_path, monkeypatch, emptied: str):
    """The batch up to features on the tiny world served with `emptied` (a world file) empty;
    returns the run's outcome and its settings."""
    world = tmp_path / "world"
    shutil.copytree(tiny_world, world)
    (world / emptied).write_text("")
    data = tmp_path / "data"
    with start_servers(world, as_of=TINY_END) as servers:
        for name, value in served_world_environment(servers, world, data).items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
        settings = Settings.from_env()
        load_request_logs(ClickHouseAccess(settings), world, settings.clickhouse_database)
        ensure_dagster_home()
        done = run_batch(until="features")
    assert done.success and set(done.steps.values()) == {"STEP_SUCCESS"}, done.steps
    return done, settings


def test_a_help_desk_without_comments_runs_the_batch_through_features(tiny_world, tmp_path,
                                                                      monkeypatch):
    done, settings = _batch_without(tiny_world, tmp_path, monkeypatch,
                                    "zendesk/ticket_comments.jsonl")
    # no check fails; the tiny world's own gap (org_3 has traffic and no Stripe customer) is a
    # warning since the spine check stopped failing the run
    assert done.failed_checks == []
    assert done.warned_checks == ["intermediate/int_account_spine:no_active_customer_unmatched"]
    # the terminal's line says what the check found, not only its name
    assert failure_lines(done) == [
        "warning: check intermediate/int_account_spine:no_active_customer_unmatched did not "
        "pass (1 active customer(s) are not matched in the account spine)"]
    wh = settings.warehouse_path
    assert query(wh, "SELECT count(*) FROM staging.stg_zendesk__ticket_comments") == [(0,)]
    tickets = {r[0] for r in query(wh, "SELECT ticket_id FROM staging.stg_zendesk__tickets "
                                       "WHERE NOT is_deleted")}
    featured = {r[0] for r in query(wh, "SELECT ticket_id FROM features.fct_ticket_features")}
    assert tickets and featured == tickets
    record("guard:no_comments_batch_runs", "guards", True, Outcome(), 1)


def test_a_stripe_account_without_subscriptions_runs_the_batch_through_features(
        tiny_world, tmp_path, monkeypatch):
    # customers, no subscription
    done, settings = _batch_without(tiny_world, tmp_path, monkeypatch,
                                    "stripe/subscriptions.jsonl")
    assert done.failed_checks == []
    wh = settings.warehouse_path
    # the items table dlt never created is there, empty, typed as staging reads it
    types = dict(query(wh, "SELECT column_name, data_type FROM information_schema.columns "
                           "WHERE table_schema = 'raw_stripe' "
                           "AND table_name = 'subscriptions__items__data'"))
    assert types["price__id"] == types["price__product"] == types["_dlt_parent_id"] == "VARCHAR"
    assert types["_dlt_list_idx"] == "BIGINT"
    for table in ("raw_stripe.subscriptions", "raw_stripe.subscriptions__items__data",
                  "staging.stg_stripe__subscriptions", "staging.stg_stripe__subscription_history",
                  "intermediate.int_ticket_subscriptions"):
        assert query(wh, f"SELECT count(*) FROM {table}") == [(0,)], table
    # the rest of Stripe still loaded, and every live ticket is featured, with no plan
    assert query(wh, "SELECT count(*) > 0 FROM staging.stg_stripe__customers") == [(True,)]
    tickets = {r[0] for r in query(wh, "SELECT ticket_id FROM staging.stg_zendesk__tickets "
                                       "WHERE NOT is_deleted")}
    featured = dict(query(wh, "SELECT ticket_id, subscription_id "
                              "FROM features.fct_ticket_features"))
    assert tickets and set(featured) == tickets and set(featured.values()) == {None}
    record("guard:stripe_no_subscriptions_batch_runs", "guards", True, Outcome(), 1)


# -- one account per key -----------------------------------------------------------------------

def _spine(con, organizations, customers):
    create_tables(con)
    insert(con, "staging.stg_zendesk__organizations", organizations)
    insert(con, "staging.stg_stripe__customers", customers)
    run_model(con, discover(["intermediate"])["intermediate.int_account_spine"])


def test_duplicated_and_conflicting_account_keys_are_quarantined_and_fail_the_check():
    con = duckdb.connect()
    _spine(con, [
        {"organization_id": 1, "organization_name": "Alpha", "external_id": "org_a"},
        {"organization_id": 2, "organization_name": "Decoy", "external_id": " org_a "},
        {"organization_id": 3, "organization_name": "Gamma", "external_id": "org_c"},
        {"organization_id": 4, "organization_name": "Delta", "external_id": "org_d"},
    ], [
        {"customer_id": "cus_a", "org_id": "org_a"},
        {"customer_id": "cus_c1", "org_id": "org_c"},
        {"customer_id": "cus_c2", "org_id": "org_c"},  # two customers claim org_c
        {"customer_id": "cus_d", "org_id": "org_d"},
    ])
    rows = con.execute("SELECT org_id, zendesk_organization_id, stripe_customer_id, "
                       "match_status, conflicting_ids FROM intermediate.int_account_spine "
                       "WHERE org_id IN ('org_a', 'org_c', 'org_d') ORDER BY org_id").fetchall()
    assert rows == [
        ("org_a", None, None, "duplicate_key",
         ["stripe_customer:cus_a", "zendesk_organization:1", "zendesk_organization:2"]),
        ("org_c", None, None, "duplicate_key",
         ["stripe_customer:cus_c1", "stripe_customer:cus_c2", "zendesk_organization:3"]),
        ("org_d", 4, "cus_d", "no_traffic", None),
    ]
    # no help-desk organization is linked to another customer's billing
    assert con.execute("SELECT count(*) FROM intermediate.int_account_spine "
                       "WHERE zendesk_organization_id IN (1, 2, 3)").fetchall() == [(0,)]
    out = checks_accounts.account_key_conflicts(con)
    assert not out.passed and out.metadata["duplicate_keys"] == 2
    assert "'org_a' claimed by" in out.message and "zendesk_organization:2" in out.message
    record("security:duplicate_account_key", "security", True, Outcome(), 2)


def test_unique_account_keys_pass():
    con = duckdb.connect()
    _spine(con, [{"organization_id": 1, "organization_name": "A", "external_id": "org_a"}],
           [{"customer_id": "cus_a", "org_id": "org_a"}])
    assert checks_accounts.account_key_conflicts(con).passed


def test_the_account_key_check_blocks_the_features_in_a_run(tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    monkeypatch.setenv("ALTOR_WAREHOUSE_PATH", str(warehouse))
    built: list[str] = []

    @dg.asset(key=checks.SPINE_KEY)
    def spine() -> None:
        with duckdb.connect(str(warehouse)) as con:
            _spine(con, [
                {"organization_id": 1, "organization_name": "A", "external_id": "org_a"},
                {"organization_id": 2, "organization_name": "B", "external_id": "org_a"}],
                [{"customer_id": "cus_a", "org_id": "org_a"}])

    @dg.asset(key=checks.FEATURES_KEY, deps=[checks.SPINE_KEY])
    def features() -> None:
        built.append("features")

    defs = [d for d in checks.asset_checks({checks.SPINE_KEY}) if d.node_def.name ==
            "intermediate_checks"]
    run = dg.materialize([spine, features, *defs], resources={"altor": AltorResource()},
                         instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)
    results = {e.check_name: e for e in run.get_asset_check_evaluations()}
    assert not results[checks.ACCOUNT_KEY_CHECK].passed
    assert built == []  # the blocking check stopped the features
    assert not run.success
    record("security:account_key_check_blocks", "security", True, Outcome(), 1)
