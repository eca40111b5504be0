-- Request aggregates per org × service × endpoint × status × error_code × minute, as pushed
-- down to ClickHouse by the clickhouse_logs source. Times in UTC without a zone; error_code
-- NULL when the requests succeeded (the raw table keeps '' there: it is part of the key).
SELECT
    CAST(org_id AS VARCHAR) AS org_id,
    CAST(service AS VARCHAR) AS service,
    CAST(endpoint AS VARCHAR) AS endpoint,
    CAST(status AS INTEGER) AS status,
    CAST(NULLIF(error_code, '') AS VARCHAR) AS error_code,
    CAST(timezone('UTC', minute) AS TIMESTAMP) AS minute,
    CAST(requests AS BIGINT) AS requests,
    CAST(latency_p50_ms AS DOUBLE) AS latency_p50_ms,
    CAST(latency_p95_ms AS DOUBLE) AS latency_p95_ms,
    CAST(latency_p99_ms AS DOUBLE) AS latency_p99_ms,
    CAST(latency_max_ms AS DOUBLE) AS latency_max_ms
FROM raw_clickhouse.request_minutes
