"""One synthetic warehouse and one trained triage model for the model tests (trained once)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from altor_pipelines.ml.dataset import load_dataset
from altor_pipelines.ml.promote import promote_if_not_worse, register_candidate
from altor_pipelines.ml.train import TrainResult, train_triage_model
from tests.fixtures.ml_fixtures import (
    SyntheticWarehouse,
    build_ml_warehouse,
    write_feature_sql,
    write_truth_world,
)


@dataclass
class TrainedWorld:
    warehouse: SyntheticWarehouse
    world_dir: Path
    sql_dir: Path
    models_root: Path
    result: TrainResult
    version: str


@pytest.fixture(scope="session")
def trained_world(tmp_path_factory: pytest.TempPathFactory) -> TrainedWorld:
    root = tmp_path_factory.mktemp("ml_model")
    wh = build_ml_warehouse(root / "warehouse.duckdb", n_tickets=2400)
    world = write_truth_world(root / "world", wh)
    sql_dir = write_feature_sql(root / "sql")
    models = root / "models" / "triage"
    con = duckdb.connect(str(wh.path))
    try:
        result = train_triage_model(load_dataset(con, before=wh.go_live))
        version = register_candidate(result, models, sql_dir)
        promote_if_not_worse(con, models, version, sql_dir)
    finally:
        con.close()
    return TrainedWorld(wh, world, sql_dir, models, result, version)


@pytest.fixture()
def warehouse_copy(trained_world: TrainedWorld, tmp_path: Path):
    """A writable copy of the trained world's warehouse."""
    path = tmp_path / "warehouse.duckdb"
    path.write_bytes(trained_world.warehouse.path.read_bytes())
    con = duckdb.connect(str(path))
    yield con
    con.close()
