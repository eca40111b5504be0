"""The Dagster code location loads, and a broken definition fails CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[2]


def test_definitions_validate_with_dagster_cli(tmp_path: Path) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-m",
         "altor_pipelines.definitions"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Validation successful" in result.stdout + result.stderr


def test_every_sql_model_is_an_asset_in_its_stage_group() -> None:
    from altor_pipelines.definitions import defs
    from altor_pipelines.warehouse.sql_runner import SQL_LAYERS, discover

    loaded = defs() if callable(defs) else defs
    graph = loaded.resolve_asset_graph()
    keys = {k.to_user_string() for k in graph.get_all_asset_keys()}
    for table in discover(SQL_LAYERS):
        assert table.replace(".", "/") in keys
    spine = graph.get(dg.AssetKey(["intermediate", "int_account_spine"]))
    assert spine.group_name == "staging"
