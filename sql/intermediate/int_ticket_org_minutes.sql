-- Request minutes folded to one row per org and minute, by HTTP status class (4xx other than
-- 429, 429, 5xx). A minute bucket [minute, minute + 1 min) counts as known at minute + 1 min.
-- Latency: request-weighted sums of the buckets' p95/p99 (divided by requests at use).
SELECT
    org_id,
    minute,
    date_trunc('hour', minute) AS hour,
    sum(requests)::DOUBLE AS requests,
    coalesce(sum(requests) FILTER (WHERE status BETWEEN 400 AND 499 AND status <> 429), 0)::DOUBLE
        AS n_4xx,
    coalesce(sum(requests) FILTER (WHERE status = 429), 0)::DOUBLE AS n_429,
    coalesce(sum(requests) FILTER (WHERE status >= 500), 0)::DOUBLE AS n_5xx,
    coalesce(sum(latency_p95_ms * requests), 0) AS p95_wsum,
    coalesce(sum(latency_p99_ms * requests), 0) AS p99_wsum
FROM staging.stg_clickhouse__request_minutes
WHERE org_id IS NOT NULL
GROUP BY org_id, minute
