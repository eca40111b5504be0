-- Per org, day, service, endpoint and error key: requests and 4xx/5xx errors (429 excluded:
-- it is the rate limiter, not a failure). The baseline for per-endpoint excess uses whole days
-- that ended before the ticket's 24h window.
SELECT
    org_id,
    date_trunc('day', minute) AS day,
    service,
    endpoint,
    CASE WHEN status >= 500 THEN '5xx' WHEN status >= 400 AND status <> 429 THEN '4xx' END
        AS status_class,
    lower(error_code) AS error_code,
    sum(requests) AS requests
FROM staging.stg_clickhouse__request_minutes
WHERE org_id IS NOT NULL
GROUP BY ALL
