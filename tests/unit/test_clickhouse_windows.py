"""Pure parts of the ClickHouse source and HTTP front: window arithmetic, statement parsing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from altor_pipelines.sources.clickhouse_logs import floor_to_window, window_chunks
from altor_pipelines.warehouse.clickhouse import CLICKHOUSE_SQL_DIR, clickhouse_sql
from altor_sim.clickhouse.http_protocol import (
    INSERT_FORMAT,
    STATUS_BY_NAME,
    engine_error,
    statement_kind,
)

H = timedelta(hours=1)


def test_windows_are_aligned_to_the_epoch_in_utc():
    assert floor_to_window(datetime(2026, 6, 1, 16, 7, tzinfo=UTC), H) == \
        datetime(2026, 6, 1, 16, tzinfo=UTC)
    # A clock given in another zone (or naive = UTC) lands on the same UTC window.
    cest = timezone(timedelta(hours=2))
    assert floor_to_window(datetime(2026, 6, 1, 18, 7, tzinfo=cest), H) == \
        datetime(2026, 6, 1, 16, tzinfo=UTC)
    assert floor_to_window(datetime(2026, 6, 1, 16, 7), timedelta(minutes=15)) == \
        datetime(2026, 6, 1, 16, 0, tzinfo=UTC)
    assert floor_to_window(datetime(2026, 6, 1, 16, 0, tzinfo=UTC), H) == \
        datetime(2026, 6, 1, 16, tzinfo=UTC)


def test_window_chunks_cover_the_range_once_in_whole_windows():
    start, end = datetime(2026, 6, 1, 8, tzinfo=UTC), datetime(2026, 6, 1, 13, tzinfo=UTC)
    chunks = window_chunks(start, end, H, 2)
    assert chunks == [(start, start + 2 * H), (start + 2 * H, start + 4 * H),
                      (start + 4 * H, end)]
    assert window_chunks(start, start, H, 2) == []
    assert window_chunks(end, start, H, 2) == []  # a clock moved back loads nothing


@pytest.mark.parametrize("sql, kind", [
    ("SELECT 1", "SELECT"),
    ("  -- comment\n  with x as (select 1) select * from x", "WITH"),
    ("/* c */ INSERT INTO t VALUES (1)", "INSERT"),
    ("(SELECT 1) UNION ALL (SELECT 2)", "SELECT"),
    ("CREATE TABLE t (a UInt8) ENGINE = Memory", "CREATE"),
])
def test_statement_kind(sql, kind):
    assert statement_kind(sql) == kind


def test_insert_statement_and_data_are_split_like_clickhouse():
    body = "INSERT INTO altor.requests (`ts`, `org_id`) FORMAT Native\n\x01\x02binary"
    m = INSERT_FORMAT.match(body)
    assert m.group(1) == "INSERT INTO altor.requests (`ts`, `org_id`)"
    assert m.group(2) == "Native"
    assert body[len(m.group(0)):] == "\x01\x02binary"
    assert INSERT_FORMAT.match("INSERT INTO t VALUES (1)") is None


def test_engine_errors_keep_code_and_name_and_map_to_clickhouse_statuses():
    err = engine_error(RuntimeError(
        "Streaming query failed: Code: 60. DB::Exception: Unknown table expression identifier "
        "'altor.nope' in scope SELECT 1 FROM altor.nope. (UNKNOWN_TABLE)"))
    assert (err.code, err.name) == (60, "UNKNOWN_TABLE")
    assert err.message.startswith("Code: 60. DB::Exception:")
    assert STATUS_BY_NAME["UNKNOWN_TABLE"] == 404
    assert STATUS_BY_NAME["SYNTAX_ERROR"] == 400
    assert STATUS_BY_NAME["AUTHENTICATION_FAILED"] == 403
    assert STATUS_BY_NAME["REQUIRED_PASSWORD"] == 401


@pytest.mark.parametrize("name", sorted(p.stem for p in CLICKHOUSE_SQL_DIR.glob("*.sql")))
def test_clickhouse_queries_take_server_side_parameters_only(name):
    sql = clickhouse_sql(name)
    assert "{database:" in sql
    assert "%s" not in sql and "%(" not in sql and "{}" not in sql
