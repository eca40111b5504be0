"""The scheduled investigation rebuilds only new and unsettled tickets, and leaves every table
exactly as a full rebuild over the same data would (whole rows compared)."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest

from altor_pipelines.investigation.build import investigation_models
from altor_pipelines.investigation.incremental import (
    COMPLETED,
    INVESTIGATIONS,
    merged_tables,
    tickets_to_investigate,
)
from altor_pipelines.warehouse.sql_runner import investigation_version
from tests.fixtures.warehouse_fixtures import (
    T0,
    T1,
    build_scenario,
    insert,
    insert_traffic,
    investigate,
    investigated_scenario,
    ticket,
)

M = timedelta(minutes=1)
H = timedelta(hours=1)
LATER = T1 + 3 * H  # after every ticket of the scenario
MERGED = sorted(merged_tables({m.table: m for m in investigation_models()}))


def add_new_tickets(con: duckdb.DuckDBPyConnection) -> None:
    """Two tickets after the scenario's, one of them during a burst of 500s."""
    insert_traffic(con, "org_a", T1 + H, T1 + 2 * H, service="svc_core", endpoint="/v1/core",
                   status=500, requests=40, error_code="internal_error", p95=3000.0)
    insert(con, "staging.stg_zendesk__tickets", [
        ticket(130, 1, T1 + 2 * H, "Everything fails", "internal_error on /v1/core"),
        ticket(131, 3, T1 + 2 * H + 5 * M, "How do I rotate keys?", "")])


def tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    """The rows of every table kept per ticket (logs.log_vocabulary, the terms this run's
    tickets may use, has no ticket and is rebuilt each run)."""
    per_ticket = [t for t in MERGED if "ticket_id" in
                  {r[0] for r in con.execute(f"DESCRIBE {t}").fetchall()}]
    assert len(per_ticket) == len(MERGED) - 1
    return {t: con.execute(f"SELECT * FROM {t} ORDER BY ALL").fetchall() for t in per_ticket}


def full_rebuild_of_same_data(changes) -> dict[str, list[tuple]]:
    con = duckdb.connect()
    build_scenario(con)
    changes(con)
    investigate(con)
    try:
        return tables(con)
    finally:
        con.close()


def test_the_second_run_investigates_only_the_new_tickets():
    con = duckdb.connect()
    build_scenario(con)
    first = investigate(con, settled_before=LATER)
    n_tickets = con.execute("SELECT count(*) FROM staging.stg_zendesk__tickets").fetchall()[0][0]
    assert first[INVESTIGATIONS] == n_tickets  # nothing completed yet: every ticket
    assert con.execute(f"SELECT count(*) FROM {COMPLETED}").fetchall()[0][0] == n_tickets

    add_new_tickets(con)
    second = investigate(con, settled_before=LATER)
    assert second[INVESTIGATIONS] == 2
    assert sorted(r[0] for r in con.execute(f"SELECT ticket_id FROM {INVESTIGATIONS}").fetchall()
                  ) == [130, 131]
    assert tables(con) == full_rebuild_of_same_data(add_new_tickets)

    # nothing new: nothing investigated, nothing changed
    before = tables(con)
    assert investigate(con, settled_before=LATER)[INVESTIGATIONS] == 0
    assert tables(con) == before
    con.close()


@pytest.fixture()
def con():
    """The scenario with every ticket investigated (a fresh in-memory warehouse per test)."""
    yield from investigated_scenario()


def test_tickets_inside_the_settle_window_are_investigated_again(con):
    young = con.execute("SELECT count(*) FROM staging.stg_zendesk__tickets "
                        "WHERE created_at >= $t", {"t": T0}).fetchall()[0][0]
    assert 0 < young < 10
    assert investigate(con, settled_before=T0)[INVESTIGATIONS] == young
    assert tables(con) == full_rebuild_of_same_data(lambda con: None)


def test_a_live_investigation_keeps_the_other_tickets_and_the_batch_redoes_it_at_creation(con):
    full = tables(con)
    investigate(con, ticket_ids=[102], as_of=T0 + 2 * H)
    features = "features.fct_ticket_features"
    others = [r for r in tables(con)[features] if r[0] != 102]
    assert others == [r for r in full[features] if r[0] != 102]
    # investigated later than its creation: the batch investigates it again, at creation
    assert investigate(con, settled_before=LATER)[INVESTIGATIONS] == 1
    assert tables(con) == full


def test_a_deleted_ticket_leaves_every_table(con):
    con.execute("UPDATE staging.stg_zendesk__tickets SET is_deleted = true WHERE ticket_id = 102")
    assert investigate(con, settled_before=LATER)[INVESTIGATIONS] == 0
    for table, rows in tables(con).items():
        column = [r[0] for r in con.execute(f"DESCRIBE {table}").fetchall()].index("ticket_id")
        assert 102 not in {r[column] for r in rows}, table


def test_other_sql_or_no_record_means_every_ticket():
    con = duckdb.connect()
    build_scenario(con)
    assert tickets_to_investigate(con, investigation_version(), LATER) is None  # no record
    investigate(con)
    assert tickets_to_investigate(con, investigation_version(), LATER) == []
    assert tickets_to_investigate(con, "another-sql", LATER) is None
    con.close()

