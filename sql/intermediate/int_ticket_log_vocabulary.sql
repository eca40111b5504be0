-- The vocabulary that exists in the data: endpoints, services and error codes seen in the
-- request logs, with the first minute each was seen (a term is usable for a ticket only if it
-- was seen before the ticket's investigation time). Nothing here is a fixed list.
SELECT kind, term, min(first_seen_at) AS first_seen_at
FROM (
    SELECT 'endpoint' AS kind, endpoint AS term, min(minute) + INTERVAL 1 MINUTE AS first_seen_at
    FROM staging.stg_clickhouse__request_minutes WHERE endpoint IS NOT NULL GROUP BY endpoint
    UNION ALL
    SELECT 'service', service, min(minute) + INTERVAL 1 MINUTE
    FROM staging.stg_clickhouse__request_minutes WHERE service IS NOT NULL GROUP BY service
    UNION ALL
    SELECT 'error_code', lower(error_code), min(minute) + INTERVAL 1 MINUTE
    FROM staging.stg_clickhouse__request_minutes
    WHERE error_code IS NOT NULL AND error_code <> '' GROUP BY lower(error_code)
)
GROUP BY kind, term
