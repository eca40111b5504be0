"""`altor demo run`: generate the demo company (once), load its request logs into ClickHouse,
serve it, and materialise every asset against it, as a deployment would."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

import dagster as dg

from altor_pipelines.demo.environment import patched_environ, served_world_environment


def ensure_world(world_dir: Path, params: Any) -> bool:
    """Generate the world unless one made with the same parameters is already there."""
    from altor_pipelines.demo.generator import generate_world

    stamp = world_dir / ".params.json"
    wanted = json.dumps(asdict(params), sort_keys=True)
    if stamp.exists() and stamp.read_text() == wanted and (world_dir / "world.json").exists():
        return False
    generate_world(world_dir, params)
    stamp.write_text(wanted)
    return True


def load_clickhouse(world_dir: Path) -> int:
    from altor_pipelines.demo.clickhouse_loader import load_request_logs
    from altor_pipelines.settings import Settings
    from altor_pipelines.warehouse.clickhouse import ClickHouseAccess

    settings = Settings.from_env()
    return load_request_logs(ClickHouseAccess(settings), world_dir, settings.clickhouse_database)


def materialize_everything(selection: str | None = None) -> dg.ExecuteInProcessResult:
    """Materialise the assets in-process (one process owns DuckDB and chDB), recorded in the
    Dagster instance of DAGSTER_HOME so the UI shows the runs afterwards."""
    from altor_pipelines.definitions import defs
    from altor_pipelines.defs.resources import AltorResource

    loaded = defs()
    assets = [a for a in loaded.assets if isinstance(a, dg.AssetsDefinition)]
    return dg.materialize(
        assets,
        resources={"altor": AltorResource()},
        instance=dg.DagsterInstance.get(),
        selection=selection,
        tags={"altor/pipeline": "demo"},
    )


def ensure_dagster_home() -> Path:
    """DAGSTER_HOME with the project's instance settings (telemetry off, pools of one)."""
    import os
    import shutil

    from altor_pipelines.settings import PROJECT_ROOT

    home = Path(os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT / "data" / "dagster_home")))
    home.mkdir(parents=True, exist_ok=True)
    # The instance settings are the project's: keep the copy current.
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.yaml", home / "dagster.yaml")
    return home


def run_demo(world_dir: Path, data_dir: Path, params: Any, echo=print) -> dict[str, Any]:
    from altor_pipelines.demo.servers import start_servers

    t0 = time.perf_counter()
    ensure_dagster_home()
    generated = ensure_world(world_dir, params)
    echo(f"world: {world_dir} ({'generated' if generated else 'already there'})")
    with start_servers(world_dir) as servers:
        env = served_world_environment(servers, world_dir, data_dir)
        with patched_environ(env):
            rows = load_clickhouse(world_dir) if generated or not (data_dir / "chdb").exists() else None
            if rows is not None:
                echo(f"clickhouse: loaded {rows:,} request-log rows")
            result = materialize_everything()
    summary = {"seconds": round(time.perf_counter() - t0, 1), "success": result.success,
               "warehouse": env["ALTOR_WAREHOUSE_PATH"]}
    return summary
