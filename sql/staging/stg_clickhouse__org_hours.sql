-- Request counts per org and hour, as pushed down to ClickHouse by the clickhouse_logs source:
-- requests, 429s, first and last minute with traffic. Times in UTC without a zone.
SELECT
    CAST(org_id AS VARCHAR) AS org_id,
    CAST(timezone('UTC', hour) AS TIMESTAMP) AS hour,
    CAST(requests AS BIGINT) AS requests,
    CAST(n_429 AS BIGINT) AS n_429,
    CAST(timezone('UTC', first_minute) AS TIMESTAMP) AS first_minute,
    CAST(timezone('UTC', last_minute) AS TIMESTAMP) AS last_minute
FROM raw_clickhouse.org_hours
