"""The request logs of a world (`clickhouse/requests/*.parquet`) against altor-world/1
(docs/world-format.md): every column with its type, a unique `request_id`, no `error_code` on a
successful request. Reads the files one by one; `validate_world` calls it last.
"""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from altor_pipelines.errors import WorldFormatError

COLUMNS = {
    "ts": pa.timestamp("ms", tz="UTC"),
    "org_id": pa.string(),
    "api_key_id": pa.string(),
    "endpoint": pa.string(),
    "method": pa.string(),
    "status": "int",
    "error_code": pa.string(),
    "latency_ms": pa.float64(),
    "region": pa.string(),
    "service": pa.string(),
    "request_id": pa.string(),
}


def _type_ok(got: pa.DataType, want: pa.DataType | str) -> bool:
    """`got` stores `want`: any integer for "int", a millisecond UTC timestamp for a timestamp,
    a large string for a string."""
    if want == "int":
        return pa.types.is_integer(got)
    if pa.types.is_timestamp(want) and pa.types.is_timestamp(got):
        return got.unit == "ms" and got.tz in ("UTC", "+00:00", "Etc/UTC")
    return got == want or (want == pa.string() and pa.types.is_large_string(got))


def validate_request_logs(root: Path) -> int:
    """Check the request-log files; return their row count."""
    files = sorted((root / "clickhouse" / "requests").glob("*.parquet"))
    if not files:
        raise WorldFormatError(str(root / "clickhouse/requests"), "no parquet files")
    rows, ids = 0, []
    for fp in files:
        schema = pq.read_schema(fp)
        for col, typ in COLUMNS.items():
            if col not in schema.names:
                raise WorldFormatError(str(fp), "missing column", field=col)
            t = schema.field(col).type
            if not _type_ok(t, typ):
                raise WorldFormatError(str(fp), f"type {t} (want {typ})", field=col)
        tab = pq.read_table(fp, columns=["request_id", "status", "error_code"])
        if tab.column("request_id").null_count:
            raise WorldFormatError(str(fp), "null request_id", field="request_id")
        ok_rows = pc.less(tab.column("status"), 400)
        bad = pc.and_(ok_rows, pc.is_valid(tab.column("error_code")))
        if pc.any(bad).as_py():
            raise WorldFormatError(
                str(fp), "error_code set on a successful request", field="error_code"
            )
        ids.append(tab.column("request_id"))
        rows += tab.num_rows
    all_ids = pa.chunked_array([c for col in ids for c in col.chunks], pa.string())
    if pc.count_distinct(all_ids).as_py() != rows:
        raise WorldFormatError(
            str(root / "clickhouse/requests"), "request_id not unique", field="request_id"
        )
    return rows
