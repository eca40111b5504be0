"""Points the pipeline's settings at a served world: the environment a run reads.

The pipeline itself never reads world.json (that is the demo's knowledge, not production's);
the demo passes what a real deployment would configure: base URLs, tokens, the root-cause
field id, go-live, where history starts, and the world's clock.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any


def world_meta(world_dir: Path | str) -> dict[str, Any]:
    return json.loads((Path(world_dir) / "world.json").read_text())


def served_world_environment(servers: Any, world_dir: Path | str, data_dir: Path | str,
                             as_of: str | None = None) -> dict[str, str]:
    """The settings' environment variables for a pipeline run against `servers`."""
    meta = world_meta(world_dir)
    data_dir = Path(data_dir).resolve()
    clock = as_of or servers.describe()["as_of"]
    return {
        "ALTOR_DATA_DIR": str(data_dir),
        "ALTOR_WAREHOUSE_PATH": str(data_dir / "warehouse.duckdb"),
        "ALTOR_DLT_DIR": str(data_dir / "dlt"),
        "ALTOR_CHDB_PATH": str(data_dir / "chdb"),
        "ALTOR_MODELS_DIR": str(data_dir / "models"),
        "ALTOR_REPORTS_DIR": str(data_dir / "reports"),
        "CLICKHOUSE_HOST": "",
        "ZENDESK_BASE_URL": servers.urls["zendesk"],
        "ZENDESK_TOKEN": servers.tokens["zendesk"],
        "ZENDESK_ROOT_CAUSE_FIELD_ID": str(meta["root_cause_field_id"]),
        "STRIPE_API_BASE": servers.urls["stripe"],
        "STRIPE_API_KEY": servers.tokens["stripe"],
        "LINEAR_API_URL": servers.urls["linear"],
        "LINEAR_API_KEY": servers.tokens["linear"],
        "LINEAR_WORKSPACE": meta.get("linear_workspace", ""),
        "GITHUB_API_URL": servers.urls["github"],
        "GITHUB_TOKEN": servers.tokens["github"],
        "GITHUB_REPO": meta["repo"],
        "ALTOR_AS_OF": clock,
        "ALTOR_GO_LIVE": meta["go_live"],
        "ALTOR_SYNC_START": meta["start"],
    }


@contextmanager
def patched_environ(values: Mapping[str, str]) -> Iterator[None]:
    """Set environment variables for the duration of a block, restoring them after."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
