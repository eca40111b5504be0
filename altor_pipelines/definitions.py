"""The one Definitions object. It only assembles what `defs/` declares.

`@dg.definitions` defers the assembly (which reads the SQL files) until Dagster loads the code
location, so importing this module does no work.
"""

from __future__ import annotations

import dagster as dg


@dg.definitions
def defs() -> dg.Definitions:
    from altor_pipelines.defs.ingest import ingest_assets
    from altor_pipelines.defs.resources import AltorResource
    from altor_pipelines.defs.sql_models import sql_model_assets

    ingest = ingest_assets()
    raw_keys = {key for assets in ingest for key in assets.keys}
    return dg.Definitions(
        assets=[*ingest, *sql_model_assets(upstream_keys=raw_keys)],
        resources={"altor": AltorResource()},
    )
