-- Platform-wide traffic per service and minute (for deploy step-change scores: error rate and
-- latency of a service after vs before a deploy, all customers). Errors = 4xx other than 429,
-- plus 5xx.
SELECT
    service,
    minute,
    date_trunc('hour', minute) AS hour,
    sum(requests)::DOUBLE AS requests,
    coalesce(sum(requests) FILTER (WHERE status >= 400 AND status <> 429), 0)::DOUBLE AS n_err,
    coalesce(sum(latency_p95_ms * requests), 0) AS p95_wsum
FROM staging.stg_clickhouse__request_minutes
WHERE service IS NOT NULL
GROUP BY service, minute
