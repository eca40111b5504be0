"""The dlt pipeline for one source: writes into the one DuckDB warehouse, schema raw_<source>.

dlt keeps its state in the destination too, so a fresh machine given the warehouse file
resumes where the last run stopped; the local working folder lives in the data folder.
"""

from __future__ import annotations

import os
from pathlib import Path

import dlt

os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")


def make_pipeline(
    source_name: str, warehouse_path: Path | str, pipelines_dir: Path | str
) -> dlt.Pipeline:
    """The pipeline `<source_name>` loading into schema `raw_<source_name>` of the warehouse."""
    Path(pipelines_dir).mkdir(parents=True, exist_ok=True)
    Path(warehouse_path).parent.mkdir(parents=True, exist_ok=True)
    return dlt.pipeline(
        pipeline_name=source_name,
        destination=dlt.destinations.duckdb(str(warehouse_path)),
        dataset_name=f"raw_{source_name}",
        pipelines_dir=str(pipelines_dir),
        progress="log" if os.environ.get("ALTOR_DLT_PROGRESS") else None,
    )
