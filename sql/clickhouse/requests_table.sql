-- The request logs as ClickHouse holds them: one row per API request (altor-world/1,
-- "Request logs"). Ordered by (org_id, ts) for per-org time-range queries: an investigation
-- reads one org's granules for its window, nothing else. Monthly partitions keep the part
-- count low on bulk loads (a daily partition would split each insert block by day) and still
-- let a time window prune to one or two partitions. LowCardinality for the few-valued columns.
-- Parameters: {database:Identifier}, {table:Identifier} (the loader builds a new table, then
-- swaps it in).
CREATE TABLE IF NOT EXISTS {database:Identifier}.{table:Identifier}
(
    ts          DateTime64(3, 'UTC'),
    org_id      String,
    api_key_id  String,
    endpoint    LowCardinality(String),
    method      LowCardinality(String),
    status      UInt16,
    error_code  LowCardinality(Nullable(String)),
    latency_ms  Float64,
    region      LowCardinality(String),
    service     LowCardinality(String),
    request_id  String
)
ENGINE = MergeTree
PARTITION BY toYYYYMM(ts)
ORDER BY (org_id, ts)
