-- Per customer and minute over [{start}, {end}), the sums sql/clickhouse/ticket_windows.sql
-- folds (its `org_minutes`, computed the same way: quantiles per org × service × endpoint ×
-- status × error_code × minute, exact with linear interpolation): the warehouse's copy of the
-- request minutes a live cycle reads (warehouse/log_cache.py). `{start}` and `{end}` are whole
-- minutes, so every minute comes back complete as of the query.
SELECT org_id, minute,
    sum(bucket_requests) AS requests,
    sumIf(bucket_requests, status BETWEEN 400 AND 499 AND status != 429) AS n_4xx,
    sumIf(bucket_requests, status = 429) AS n_429,
    sumIf(bucket_requests, status >= 500) AS n_5xx,
    sum(q[1] * bucket_requests) AS p95_wsum,
    sum(q[2] * bucket_requests) AS p99_wsum
FROM (
    SELECT org_id, status, toDateTime64(toStartOfMinute(ts), 3, 'UTC') AS minute,
        toFloat64(count()) AS bucket_requests,
        quantilesExactInclusive(0.95, 0.99)(latency_ms) AS q
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
    GROUP BY org_id, service, endpoint, status, toString(ifNull(error_code, '')), minute
)
GROUP BY org_id, minute
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0
