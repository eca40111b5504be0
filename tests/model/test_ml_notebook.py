"""The retraining notebook runs end to end on the demo world: a small world from the project's
own generator, served by the demo servers and brought through the real pipeline to its go-live
(every source synced, staging and features built; `altor_sim.live.prepare_live_world`). The
notebook trains on the help-desk history before go-live and registers a candidate, promoted
because there is no current model; its metadata shows it was trained on exactly that history.
The notebook is committed without outputs."""

from __future__ import annotations

import shutil
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import nbformat
import pytest
from nbclient import NotebookClient

from altor_pipelines.clock import parse_time
from altor_pipelines.ml import registry
from altor_pipelines.taxonomy import CAUSES
from altor_pipelines.warehouse.duckdb import SQL_DIR
from altor_sim.world.generator import WorldParams
from tests.fixtures.live_world import served_live_world

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_retrain_triage_classifier.ipynb"

# 21 days, go-live after 14 (the generator's default two thirds): ~350 solved tickets with a
# recorded cause before go-live, at least 15 of every cause (measured: novel 17, billing 28).
DEMO_PARAMS = WorldParams(
    days=21, customers=12, requests_per_minute=10, tickets_per_week=200, seed=4
)

# The labelled history as the help desk recorded it (staging, never truth/): solved or closed
# tickets created before go-live with a recorded cause of the taxonomy, oldest first.
LABELLED_BEFORE_SQL = """
SELECT ticket_id, recorded_root_cause
FROM staging.stg_zendesk__tickets
WHERE status IN ('solved', 'closed') AND NOT coalesce(is_deleted, FALSE)
  AND list_contains($causes, recorded_root_cause) AND created_at < $before
ORDER BY created_at, ticket_id
"""


@dataclass
class DemoWorld:
    world_dir: Path
    warehouse_path: Path
    go_live: datetime  # naive UTC, as the warehouse's timestamps


@pytest.fixture(scope="module")
def demo_world(tmp_path_factory: pytest.TempPathFactory) -> DemoWorld:
    """The generated world at go-live; the servers stop once the warehouse is prepared (the
    notebook reads only the warehouse)."""
    root = tmp_path_factory.mktemp("demo_world")
    with served_live_world(root, DEMO_PARAMS) as (_servers, settings, world):
        go_live = parse_time(settings.go_live)
    assert go_live is not None
    return DemoWorld(world, settings.warehouse_path, go_live.replace(tzinfo=None))


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_retrains_and_registers_a_candidate(demo_world, tmp_path, monkeypatch):
    warehouse = tmp_path / "warehouse.duckdb"
    shutil.copyfile(demo_world.warehouse_path, warehouse)
    con = duckdb.connect(str(warehouse), read_only=True)
    try:
        labelled = con.execute(
            LABELLED_BEFORE_SQL, {"causes": list(CAUSES), "before": demo_world.go_live}
        ).fetchall()
    finally:
        con.close()
    per_cause = Counter(cause for _, cause in labelled)
    assert set(per_cause) == set(CAUSES) and min(per_cause.values()) >= 8, per_cause

    models_dir = tmp_path / "models"
    monkeypatch.setenv("ALTOR_WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("ALTOR_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("ALTOR_SQL_DIR", str(SQL_DIR))
    monkeypatch.setenv("ALTOR_TRAIN_BEFORE", demo_world.go_live.isoformat())
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()

    root = models_dir / "triage"
    versions = registry.list_versions(root)
    assert len(versions) == 1
    meta = registry.read_metadata(root, versions[0])
    assert meta["promotion"]["promoted"] and meta["promotion"]["current_version"] is None
    assert registry.current_version(root) == versions[0]
    assert meta["feature_sql_hash"] == registry.feature_sql_hash(SQL_DIR)

    # trained on exactly this world's labelled history before go-live, split by time
    window = meta["training_window"]
    assert sum(w["rows"] for w in window.values()) == len(labelled)
    n_train = window["train"]["rows"]
    assert meta["rows_per_class"]["train_recorded"] == {
        c: Counter(cause for _, cause in labelled[:n_train]).get(c, 0) for c in CAUSES
    }
    assert sum(meta["rows_per_class"]["train_recorded"].values()) == n_train
    assert datetime.fromisoformat(window["test"]["to"]) < demo_world.go_live
    n_valid = window["valid"]["rows"]
    assert meta["held_out"]["ticket_ids"] == [t for t, _ in labelled[n_train + n_valid :]]
