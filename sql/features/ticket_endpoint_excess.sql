-- Which endpoint, service and error code carry this customer's errors in the 24h before the
-- investigation time, and how far above their own baseline: one row per ticket and error key
-- (service, endpoint, status class, error code) with errors in the window, ranked by excess.
-- excess = errors in the window - the endpoint's window requests x the key's baseline rate
-- (baseline: the 7 whole days before the day the 24h window starts in). The same over the last
-- 3h (errors_3h, excess_3h): what the customer is seeing as they write, undiluted by the day.
WITH keyed AS (
    -- per ticket and error key, computed in ClickHouse (sql/clickhouse/ticket_endpoint_keys.sql)
    SELECT ticket_id, service, endpoint, status_class, error_code, status,
        errors_24h::BIGINT AS errors_24h,
        endpoint_requests_24h::BIGINT AS endpoint_requests_24h,
        errors_24h / endpoint_requests_24h AS error_rate_24h,
        errors_3h::BIGINT AS errors_3h,
        endpoint_requests_3h::BIGINT AS endpoint_requests_3h,
        errors_base::BIGINT AS errors_base,
        endpoint_requests_base::BIGINT AS endpoint_requests_base,
        (errors_base + 0.5) / (endpoint_requests_base + 1) AS base_rate,
        first_minute
    FROM logs.ticket_endpoint_keys
)
SELECT *,
    errors_24h - endpoint_requests_24h * least(base_rate, 1) AS excess,
    errors_3h - endpoint_requests_3h * least(base_rate, 1) AS excess_3h,
    row_number() OVER (PARTITION BY ticket_id ORDER BY
        errors_24h - endpoint_requests_24h * least(base_rate, 1) DESC, errors_24h DESC,
        service, endpoint, error_code) AS excess_rank
FROM keyed
