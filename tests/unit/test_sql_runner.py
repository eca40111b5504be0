"""Running one SQL model: a failure names the model it happened in; a run's merged models
read each other's new rows and merge at the end."""

from __future__ import annotations

import duckdb
import pytest

from altor_pipelines.warehouse.sql_runner import (
    Merge,
    SqlModel,
    finish_merges,
    incoming_table,
    reading,
    run_model,
)


def test_a_failing_model_is_named_in_the_error(tmp_path):
    path = tmp_path / "ticket_broken.sql"
    path.write_text("SELECT 'not a number'::INTEGER AS ticket_id")
    con = duckdb.connect()
    with pytest.raises(duckdb.ConversionException) as failed:
        run_model(con, SqlModel("features", "ticket_broken", path))
    assert f"while building features.ticket_broken from {path}" in failed.value.__notes__
    con.close()


def test_reading_swaps_only_the_named_tables():
    sql = ("SELECT * FROM features.ticket_plan AS p JOIN features.ticket_plan_limits USING "
           "(ticket_id) JOIN Features.Ticket_Plan AS q USING (ticket_id)")
    swapped = reading(sql, {"features.ticket_plan": incoming_table("features.ticket_plan")})
    assert swapped == ("SELECT * FROM features__incoming.ticket_plan AS p JOIN "
                       "features.ticket_plan_limits USING (ticket_id) JOIN "
                       "features__incoming.ticket_plan AS q USING (ticket_id)")


def test_reading_refuses_a_reference_it_cannot_point_at_the_new_rows():
    with pytest.raises(ValueError, match="features.ticket_plan"):
        reading('SELECT * FROM "features"."ticket_plan"',
                {"features.ticket_plan": incoming_table("features.ticket_plan")})


def test_a_merge_left_for_later_lets_the_next_model_read_only_the_new_rows(tmp_path):
    """The run's second model reads the first one's incoming rows (one ticket), not the table
    (three); once merged, both tables hold every ticket, the rebuilt one with its new values."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA features")
    con.execute("CREATE TABLE run_tickets AS SELECT 2::BIGINT AS ticket_id")
    con.execute("CREATE TABLE features.base AS SELECT range AS ticket_id, 0 AS v FROM range(1, 4)")
    con.execute("CREATE TABLE features.seen AS SELECT ticket_id, 0::BIGINT AS rows_read "
                "FROM features.base")
    (tmp_path / "base.sql").write_text("SELECT ticket_id, 10 AS v FROM run_tickets")
    (tmp_path / "seen.sql").write_text(
        "SELECT ticket_id, count(*) OVER () AS rows_read FROM features.base")
    merge = Merge("ticket_id", "SELECT ticket_id FROM run_tickets",
                  "SELECT range FROM range(1, 4)")
    pending: list = []
    reads: dict[str, str] = {}
    for name in ("base", "seen"):
        model = SqlModel("features", name, tmp_path / f"{name}.sql")
        assert run_model(con, model, {}, merge=merge, reads=reads, merge_later=pending) == 1
        reads[model.table] = pending[-1].incoming
    assert finish_merges(con, pending) == {"features.base": 3, "features.seen": 3}
    assert con.execute("SELECT * FROM features.base ORDER BY 1").fetchall() == [
        (1, 0), (2, 10), (3, 0)]
    assert con.execute("SELECT * FROM features.seen ORDER BY 1").fetchall() == [
        (1, 0), (2, 1), (3, 0)]
    assert con.execute("SELECT count(*) FROM duckdb_schemas() "
                       "WHERE schema_name = 'features__incoming'").fetchall() == [(0,)]
    con.close()


def test_the_run_merges_in_one_transaction_so_a_failing_merge_changes_no_table(tmp_path):
    """The second table's incoming rows cannot go in (a value its column cannot hold): the
    first table, merged before it in the same run, is left as it was, and the error says
    which merge failed."""
    con = duckdb.connect()
    con.execute("CREATE SCHEMA features")
    con.execute("CREATE TABLE run_tickets AS SELECT 2::BIGINT AS ticket_id")
    for name in ("first", "second"):
        con.execute(f"CREATE TABLE features.{name} (ticket_id BIGINT, v INTEGER CHECK (v < 50))")
        con.execute(f"INSERT INTO features.{name} SELECT range, 0 FROM range(1, 4)")
    (tmp_path / "first.sql").write_text("SELECT ticket_id, 10 AS v FROM run_tickets")
    (tmp_path / "second.sql").write_text("SELECT ticket_id, 99 AS v FROM run_tickets")
    merge = Merge("ticket_id", "SELECT ticket_id FROM run_tickets",
                  "SELECT range FROM range(1, 4)")
    pending: list = []
    for name in ("first", "second"):
        run_model(con, SqlModel("features", name, tmp_path / f"{name}.sql"), {}, merge=merge,
                  merge_later=pending)
    with pytest.raises(duckdb.ConstraintException) as failed:
        finish_merges(con, pending)
    assert any("while merging features.second" in n for n in failed.value.__notes__)
    for name in ("first", "second"):
        assert con.execute(f"SELECT * FROM features.{name} ORDER BY 1").fetchall() == [
            (1, 0), (2, 0), (3, 0)]
