"""Checks that hold for any table: a unique primary key, no sudden drop in rows, a fresh source."""


from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb

from altor_pipelines.defs.check_outcome import (
    SAMPLE,
    Outcome,
    columns_of,
    quoted,
    table_exists,
)

# A table may shrink by at most this share between two materialisations.
MAX_ROW_DROP = 0.25


def duplicate_keys(con: duckdb.DuckDBPyConnection, table: str,
                   key: Sequence[str] | None = None) -> Outcome:
    """No two rows of `table` share a primary key (`key`; default: the first column)."""
    if not table_exists(con, table):
        return Outcome.skipped(f"{table} does not exist yet (nothing loaded into it)")
    columns = columns_of(con, table)
    key = tuple(key or columns[:1])
    absent = [c for c in key if c not in columns]
    if absent:
        return Outcome(False, f"{table} has no column {', '.join(absent)} of its primary key "
                              f"({', '.join(key)}); its columns are {', '.join(columns)}.")
    cols = ", ".join(quoted(c) for c in key)
    schema, name = table.split(".")
    rows = con.execute(
        f"SELECT {cols}, count(*) AS n, count(*) OVER () AS groups "
        f"FROM {quoted(schema)}.{quoted(name)} GROUP BY {cols} HAVING count(*) > 1 "
        f"ORDER BY n DESC, {cols} LIMIT {SAMPLE}").fetchall()
    label = ", ".join(key)
    if not rows:
        return Outcome(True, f"Every row of {table} has its own {label}.", {"key": label})
    groups = rows[0][-1]
    examples = "; ".join(
        " ".join(f"{c}={v}" for c, v in zip(key, r[:len(key)], strict=True)) + f" ({r[-2]} rows)"
        for r in rows)
    return Outcome(False, f"{table} has {groups} duplicated primary key value(s) ({label}): "
                          f"{examples}. A merge or a staging join is producing duplicates.",
                   {"key": label, "duplicated_keys": int(groups)})


def source_freshness(con: duckdb.DuckDBPyConnection, source: str, now: datetime,
                     max_age: timedelta) -> Outcome:
    """The newest successful dlt load of `raw_<source>` is at most `max_age` old."""
    table = f"raw_{source}._dlt_loads"
    if not table_exists(con, table):
        return Outcome(False, f"raw_{source} has never been loaded: run the sync_{source} job "
                              f"(or its schedule).", {"source": source})
    newest = con.execute(f"SELECT max(inserted_at) FROM raw_{source}._dlt_loads "
                         "WHERE status = 0").fetchall()[0][0]
    if newest is None:
        return Outcome(False, f"raw_{source} has no successful load: see the sync_{source} "
                              "runs' logs.", {"source": source})
    if newest.tzinfo is None:
        newest = newest.replace(tzinfo=UTC)
    age = now - newest
    minutes = round(age.total_seconds() / 60, 1)
    meta = {"source": source, "last_load": newest.isoformat(), "age_minutes": minutes,
            "max_age_minutes": max_age.total_seconds() / 60}
    if age <= max_age:
        return Outcome(True, f"{source} was last loaded {minutes} minutes ago "
                             f"(allowed: {max_age.total_seconds() / 60:g}).", meta)
    return Outcome(False, f"{source} is stale: last successful load {newest:%Y-%m-%d %H:%M} "
                          f"UTC, {minutes} minutes ago, more than the "
                          f"{max_age.total_seconds() / 60:g} minutes allowed. Is the "
                          f"ingest_{source}_schedule running, and are its runs failing?", meta)


def recent_row_counts(instance: dg.DagsterInstance, key: dg.AssetKey, limit: int = 2
                      ) -> list[int]:
    """`dagster/row_count` of the newest materialisations of `key`, newest first."""
    records = instance.fetch_materializations(key, limit=limit).records
    counts = []
    for record in records:
        mat = record.asset_materialization
        value = mat.metadata.get("dagster/row_count") if mat else None
        if value is not None:
            counts.append(int(getattr(value, "value", value)))
    return counts


def row_count_drop(table: str, counts: Sequence[int], max_drop: float = MAX_ROW_DROP
                   ) -> Outcome:
    """The newest row count (counts[0]) is not more than `max_drop` below the one before."""
    if len(counts) < 2:
        return Outcome.skipped(f"{table} has fewer than two materialisations with a row count")
    current, previous = counts[0], counts[1]
    meta = {"rows": current, "previous_rows": previous}
    if previous == 0 or current >= previous * (1 - max_drop):
        return Outcome(True, f"{table}: {current} rows, previously {previous}.", meta)
    drop = 1 - current / previous
    return Outcome(False, f"{table} shrank from {previous} to {current} rows ({drop:.0%} fewer; "
                          f"more than {max_drop:.0%} is suspicious). Was a source emptied, a "
                          "filter changed, or a load partial?", meta | {"drop": round(drop, 4)})
