"""The one Definitions object. It only assembles what `defs/` declares.

`@dg.definitions` defers the assembly (which reads the SQL files) until Dagster loads the code
location, so importing this module does no work.
"""

from __future__ import annotations

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    from altor_pipelines.defs.delivery import delivery_definitions
    from altor_pipelines.defs.diagnosis import diagnosis_assets
    from altor_pipelines.defs.ingest import ingest_assets
    from altor_pipelines.defs.resources import AltorResource
    from altor_pipelines.defs.sql_models import sql_model_assets

    ingest = ingest_assets()
    diagnosis = diagnosis_assets()
    upstream = {key for assets in [*ingest, *diagnosis] for key in assets.keys}
    assets = [*ingest, *diagnosis, *sql_model_assets(upstream_keys=upstream)]
    delivery = delivery_definitions({key for a in assets for key in a.keys})
    assets += delivery["assets"]
    # In-process by default: one process owns the DuckDB writer and the chDB data directory
    # (and a step costs ~0.2 s instead of ~5 s of process start-up on 2 cores).
    return _with_operations(dg.Definitions(assets=assets, resources={"altor": AltorResource()},
                                           jobs=delivery["jobs"], sensors=delivery["sensors"],
                                           executor=dg.in_process_executor))


def _with_operations(loaded: dg.Definitions) -> dg.Definitions:
    """Adds the report asset, declarative automation, asset checks, jobs, schedules and
    sensors (defs/reporting.py, defs/checks.py, defs/automation.py) for the assets present."""
    from altor_pipelines.defs.automation import automation_definitions, with_automation
    from altor_pipelines.defs.checks import asset_checks
    from altor_pipelines.defs.reporting import report_asset

    assets = [a for a in loaded.assets or [] if isinstance(a, dg.AssetsDefinition)]
    keys = {key for a in assets for key in a.keys}
    assets = with_automation([*assets, report_asset(keys)])
    keys = {key for a in assets for key in a.keys}
    checks = asset_checks(keys)
    ingest = [a for a in assets if all(k.path[0].startswith("raw_") for k in a.keys)]
    return dg.Definitions.merge(
        dg.Definitions(resources=loaded.resources, executor=loaded.executor,
                       asset_checks=[*(loaded.asset_checks or [])]),
        dg.Definitions(assets=assets, asset_checks=checks,
                       **automation_definitions(ingest, keys, checks)),
        dg.Definitions(jobs=loaded.jobs, schedules=loaded.schedules, sensors=loaded.sensors),
    )
