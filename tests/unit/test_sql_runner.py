"""Running one SQL model: a failure names the model it happened in."""

from __future__ import annotations

import duckdb
import pytest

from altor_pipelines.warehouse.sql_runner import SqlModel, run_model


def test_a_failing_model_is_named_in_the_error(tmp_path):
    path = tmp_path / "ticket_broken.sql"
    path.write_text("SELECT 'not a number'::INTEGER AS ticket_id")
    con = duckdb.connect()
    with pytest.raises(duckdb.ConversionException) as failed:
        run_model(con, SqlModel("features", "ticket_broken", path))
    assert f"while building features.ticket_broken from {path}" in failed.value.__notes__
    con.close()
