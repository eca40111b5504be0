-- A bounded sample of error requests (status >= 400) per org and hour, as sampled in
-- ClickHouse by the clickhouse_logs source. Times in UTC without a zone.
SELECT
    CAST(request_id AS VARCHAR) AS request_id,
    CAST(timezone('UTC', ts) AS TIMESTAMP) AS ts,
    CAST(org_id AS VARCHAR) AS org_id,
    CAST(api_key_id AS VARCHAR) AS api_key_id,
    CAST(service AS VARCHAR) AS service,
    CAST(endpoint AS VARCHAR) AS endpoint,
    CAST(method AS VARCHAR) AS method,
    CAST(status AS INTEGER) AS status,
    CAST(error_code AS VARCHAR) AS error_code,
    CAST(latency_ms AS DOUBLE) AS latency_ms,
    CAST(region AS VARCHAR) AS region
FROM raw_clickhouse.error_samples
