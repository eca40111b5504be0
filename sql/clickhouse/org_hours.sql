-- Per org and hour over [start, end): requests, 429s (the monthly quota counts served
-- requests), and the first and last minute with traffic (which accounts are active). A few
-- rows per customer and hour, whatever the log volume; the per-ticket figures are computed in
-- ClickHouse at investigation time (sql/clickhouse/ticket_*.sql).
SELECT
    org_id,
    toDateTime64(toStartOfHour(ts), 3, 'UTC') AS hour,
    count() AS requests,
    countIf(status = 429) AS n_429,
    toDateTime64(toStartOfMinute(min(ts)), 3, 'UTC') AS first_minute,
    toDateTime64(toStartOfMinute(max(ts)), 3, 'UTC') AS last_minute
FROM {database:Identifier}.requests
WHERE ts >= {start:DateTime64(3, 'UTC')}
  AND ts < {end:DateTime64(3, 'UTC')}
GROUP BY org_id, hour
ORDER BY org_id, hour
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0
