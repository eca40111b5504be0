-- Aggregates pushed down to ClickHouse: one row per org × service × endpoint × status ×
-- error_code × minute over [start, end). Only these come back, never raw rows.
-- error_code is '' for successful requests (it is part of the merge key, which cannot be NULL;
-- staging turns '' back into NULL). Percentiles are exact with linear interpolation
-- (quantilesExactInclusive, like DuckDB's quantile_cont): deterministic, so a figure quoted as
-- evidence reproduces; memory is bounded by the rows of one query range.
SELECT
    org_id,
    service,
    endpoint,
    status,
    error_code,
    minute,
    requests,
    latency_quantiles[1] AS latency_p50_ms,
    latency_quantiles[2] AS latency_p95_ms,
    latency_quantiles[3] AS latency_p99_ms,
    latency_max_ms
FROM
(
    SELECT
        org_id,
        toString(service) AS service,
        toString(endpoint) AS endpoint,
        status,
        toString(ifNull(error_code, '')) AS error_code,
        toDateTime64(toStartOfMinute(ts), 3, 'UTC') AS minute,
        count() AS requests,
        quantilesExactInclusive(0.5, 0.95, 0.99)(latency_ms) AS latency_quantiles,
        max(latency_ms) AS latency_max_ms
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')}
      AND ts < {end:DateTime64(3, 'UTC')}
    GROUP BY org_id, service, endpoint, status, error_code, minute
)
ORDER BY org_id, service, endpoint, status, error_code, minute
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0
