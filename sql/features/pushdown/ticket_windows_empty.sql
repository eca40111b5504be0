-- The columns of logs.ticket_windows (sql/clickhouse/ticket_windows.sql) when there is no
-- ticket to investigate.
SELECT CAST(NULL AS BIGINT) AS ticket_id, CAST(NULL AS VARCHAR) AS scope,
    CAST(NULL AS VARCHAR) AS win, CAST(NULL AS DOUBLE) AS requests,
    CAST(NULL AS DOUBLE) AS n_4xx, CAST(NULL AS DOUBLE) AS n_429, CAST(NULL AS DOUBLE) AS n_5xx,
    CAST(NULL AS DOUBLE) AS p95_wsum, CAST(NULL AS DOUBLE) AS p99_wsum
WHERE false
