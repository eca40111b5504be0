"""The live path's copy of the request minutes (warehouse/log_cache.py): tickets investigated one
by one from the copy get the rows the batch gets by scanning ClickHouse, in every
investigation table; the copy follows rows that arrive late, never lends a ticket data from
after its investigation time, and never writes into ClickHouse."""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

import duckdb

from altor_pipelines.warehouse.log_cache import MINUTES, LogCache, minutes_reach
from altor_pipelines.warehouse.pushdown import PushdownStats
from tests.fixtures.warehouse_fixtures import (
    T0,
    build_scenario,
    fixture_clickhouse,
    insert_traffic,
    investigate,
    org_hours_from_minutes,
)

M = timedelta(minutes=1)


def per_ticket_tables(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every investigation table with a row per ticket (features, heuristics, logs)."""
    return [f"{s}.{t}" for s, t in con.execute(
        "SELECT table_schema, table_name FROM information_schema.columns "
        "WHERE column_name = 'ticket_id' AND table_schema IN ('features', 'heuristics', 'logs') "
        "ORDER BY ALL").fetchall()]


def rows(con: duckdb.DuckDBPyConnection, table: str, ticket_id: int) -> list[tuple]:
    return con.execute(f"SELECT * FROM {table} WHERE ticket_id = ? ORDER BY ALL",
                       [ticket_id]).fetchall()


def same(a: Any, b: Any) -> bool:
    """Equal; floats up to the last bits (ClickHouse takes window sums as prefix differences
    from the batch's first minute, the copy sums the window's minutes)."""
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and isinstance(b, float):
        return a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    return a == b


def test_tickets_investigated_one_by_one_from_the_copy_get_the_batch_rows():
    con = duckdb.connect()
    build_scenario(con)
    investigate(con)  # the batch: every ticket at its creation, pushed down to ClickHouse
    tables = per_ticket_tables(con)
    assert {"logs.ticket_windows", "logs.ticket_platform_share", "features.fct_ticket_features",
            "heuristics.rule_scores", "heuristics.evidence"} <= set(tables)
    tickets = con.execute("SELECT ticket_id, created_at FROM intermediate.int_ticket_investigations"
                          " ORDER BY created_at DESC, ticket_id").fetchall()
    batch = {(t, tid): rows(con, t, tid) for t in tables for tid, _ in tickets}
    vocabulary = con.execute("SELECT * FROM logs.log_vocabulary ORDER BY ALL").fetchall()
    access = fixture_clickhouse(con)
    # the latest ticket first: the copy then holds minutes after every other ticket's time
    for tid, created in tickets:
        stats = PushdownStats()
        investigate(con, ticket_ids=[tid], as_of=created,
                    log_cache=LogCache(access, stats=stats))
        assert not {q.name for q in stats.queries} & {"ticket_windows", "ticket_platform_share",
                                                        "log_vocabulary"}
        for table in tables:
            got = rows(con, table, tid)
            assert same(got, batch[(table, tid)]), (table, tid, got, batch[(table, tid)])
        if tid == tickets[0][0]:  # the latest: the vocabulary of the whole scenario
            assert con.execute("SELECT * FROM logs.log_vocabulary ORDER BY ALL"
                               ).fetchall() == vocabulary
    assert con.execute(f"SELECT count(*) FROM {MINUTES}").fetchall()[0][0] > 0
    con.close()


def test_the_copy_reads_again_the_hours_where_rows_arrived_late():
    con = duckdb.connect()
    build_scenario(con)
    # traffic of this test's own (the fixture's ClickHouse database is shared by content)
    insert_traffic(con, "org_late", T0 - 50 * M, T0 - 40 * M, requests=3)
    org_hours_from_minutes(con)
    access = fixture_clickhouse(con)
    late = T0 - 30 * M
    investigate(con, ticket_ids=[101], as_of=T0, log_cache=LogCache(access))
    held = con.execute("SELECT * FROM logs.ticket_windows ORDER BY ALL").fetchall()
    with access.client() as client:  # rows of an hour the copy already holds arrive late
        client.command(
            "INSERT INTO {database:Identifier}.requests SELECT {at:DateTime64(3, 'UTC')}, "
            "'org_late', 'k', '/v1/late', 'GET', 503, 'late_code', 900.0, 'eu', 'svc_late', "
            "toString(number) FROM numbers(7)",
            parameters={"database": access.database, "at": late.replace(tzinfo=None)})
    stats = PushdownStats()
    investigate(con, ticket_ids=[101], as_of=T0, log_cache=LogCache(access, stats=stats))
    refetched = [q for q in stats.queries if q.name == "request_minutes"]
    assert len(refetched) == 1 and refetched[0].rows >= 1  # that hour only
    cached = con.execute("SELECT * FROM logs.ticket_windows ORDER BY ALL").fetchall()
    vocabulary = con.execute("SELECT * FROM logs.log_vocabulary ORDER BY ALL").fetchall()
    assert cached != held
    investigate(con, ticket_ids=[101], as_of=T0)  # pushed down
    assert same(cached, con.execute("SELECT * FROM logs.ticket_windows ORDER BY ALL").fetchall())
    assert vocabulary == con.execute("SELECT * FROM logs.log_vocabulary ORDER BY ALL").fetchall()
    assert ("error_code", "late_code") in {(k, t) for k, t, _ in vocabulary}
    con.close()


def test_a_run_over_a_long_range_is_pushed_down():
    con = duckdb.connect()
    build_scenario(con)
    stats = PushdownStats()
    investigate(con, log_cache=LogCache(fixture_clickhouse(con), max_span=timedelta(hours=1)),
                stats=stats)
    assert "ticket_windows" in {q.name for q in stats.queries}
    con.close()


def test_a_warmed_copy_serves_the_first_ticket_without_fetching():
    con = duckdb.connect()
    build_scenario(con)
    access = fixture_clickhouse(con)
    investigate(con, ticket_ids=[101], as_of=T0, log_cache=LogCache(access))
    cold = {t: rows(con, t, 101) for t in per_ticket_tables(con)}
    con.execute("DROP SCHEMA log_cache CASCADE")  # a loop starting on a warehouse without it

    warming = PushdownStats()
    LogCache(access, stats=warming).warm(con, T0)
    assert {q.name for q in warming.queries} == {"request_minutes", "request_terms"}
    reach = con.execute("SELECT minutes_from, minutes_to FROM log_cache.coverage").fetchall()
    assert reach == [(T0.replace(tzinfo=None) - minutes_reach(), T0.replace(tzinfo=None))]

    first = PushdownStats()
    investigate(con, ticket_ids=[101], as_of=T0, log_cache=LogCache(access, stats=first))
    fetched = {q.name for q in first.queries} & {"request_minutes", "request_terms"}
    assert fetched == set()  # only the audits of what the copy holds
    for table, expected in cold.items():
        assert same(rows(con, table, 101), expected), table
    con.close()


def test_the_reach_is_the_longest_window_the_minute_twins_read():
    assert minutes_reach() == timedelta(hours=193)  # sql/features/pushdown/ticket_windows.sql
