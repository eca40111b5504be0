"""`altor investigate TICKET_ID` works in a scratch database over the warehouse (attached
read-only): it builds its own tables for that ticket, whatever the warehouse holds."""

from __future__ import annotations

from datetime import timedelta

import duckdb

from altor_pipelines.investigation.build import build_investigation
from altor_pipelines.investigation.incremental import INVESTIGATIONS
from altor_pipelines.warehouse.duckdb import scratch_over
from tests.fixtures.warehouse_fixtures import T0, build_scenario, fixture_clickhouse, investigate


def test_an_investigation_on_demand_builds_its_own_tables_beside_the_warehouse(tmp_path):
    """The warehouse's investigated tables are not the scratch's to merge into."""
    path = tmp_path / "warehouse.duckdb"
    con = duckdb.connect(str(path))
    build_scenario(con)
    investigate(con)
    con.close()
    scratch = scratch_over(path, schemas=("staging", "fixture"))
    rows = build_investigation(scratch, fixture_clickhouse(scratch), ticket_ids=[102],
                               as_of=T0 + timedelta(hours=2))
    assert rows[INVESTIGATIONS] == 1
    assert scratch.execute("SELECT ticket_id FROM features.fct_ticket_features").fetchall() == [
        (102,)]
    scratch.close()
