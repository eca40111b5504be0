"""The retraining notebook runs end to end (on the synthetic warehouse until the demo world's
features exist) and registers a candidate; it is committed without outputs."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from altor_pipelines.ml import registry

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "01_retrain_triage_classifier.ipynb"


def test_notebook_is_committed_without_outputs():
    nb = nbformat.read(NOTEBOOK, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None


def test_notebook_retrains_and_registers_a_candidate(trained_world, tmp_path, monkeypatch):
    models_dir = tmp_path / "models"
    warehouse = tmp_path / "warehouse.duckdb"
    warehouse.write_bytes(trained_world.warehouse.path.read_bytes())
    monkeypatch.setenv("ALTOR_WAREHOUSE_PATH", str(warehouse))
    monkeypatch.setenv("ALTOR_MODELS_DIR", str(models_dir))
    monkeypatch.setenv("ALTOR_SQL_DIR", str(trained_world.sql_dir))
    monkeypatch.setenv("ALTOR_TRAIN_BEFORE", trained_world.warehouse.go_live.isoformat())
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    versions = registry.list_versions(models_dir / "triage")
    assert len(versions) == 1
    meta = registry.read_metadata(models_dir / "triage", versions[0])
    assert meta["promotion"]["promoted"]
    assert os.environ["ALTOR_MODELS_DIR"] == str(models_dir)
