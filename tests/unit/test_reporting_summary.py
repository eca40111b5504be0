"""The demo's closing tables: none when the run left no warehouse to read (a failed batch names
none: it must end with the failure's lines, not a traceback)."""

from __future__ import annotations

from pathlib import Path

from altor_pipelines.reporting.summary import summary_tables


def test_no_tables_without_a_warehouse_file(tmp_path):
    assert summary_tables(Path(""), None) == []  # what a failed demo run passes
    assert summary_tables(tmp_path, None) == []  # a folder is not a warehouse
    assert summary_tables(tmp_path / "warehouse.duckdb", None) == []
