"""Resources: the run's settings, the warehouse and ClickHouse, all from the environment."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import duckdb

from altor_pipelines.settings import Settings
from altor_pipelines.warehouse.clickhouse import ClickHouseAccess
from altor_pipelines.warehouse.duckdb import open_warehouse

# Pools limit how many steps touch one store at once (dagster.yaml sets each limit to 1):
# DuckDB has one writer; chDB allows one process per data directory.
WAREHOUSE_POOL = "warehouse"
CLICKHOUSE_POOL = "clickhouse"


class AltorResource(dg.ConfigurableResource):
    """The project's settings, read from the environment when a run starts (not at import)."""

    def settings(self) -> Settings:
        return Settings.from_env()

    @contextmanager
    def warehouse(self, *, read_only: bool = False) -> Iterator[duckdb.DuckDBPyConnection]:
        con = open_warehouse(self.settings(), read_only=read_only)
        try:
            yield con
        finally:
            con.close()

    def clickhouse(self) -> ClickHouseAccess:
        return ClickHouseAccess(self.settings())
