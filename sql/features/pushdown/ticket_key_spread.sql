-- Tickets for sql/clickhouse/ticket_key_spread.sql: each ticket's top error key in the 24h
-- before its investigation time (excess_rank = 1) and in the last 3h (most above its baseline
-- there; ties: the better 24h rank), as features.ticket_endpoint_excess ranks them. One row
-- per ticket and window; windows reach back 24h.
WITH top_keys AS (
    SELECT ticket_id, 24 AS window_hours, service, endpoint, status_class, error_code
    FROM features.ticket_endpoint_excess
    WHERE excess_rank = 1
    UNION ALL
    SELECT ticket_id, 3 AS window_hours, service, endpoint, status_class, error_code
    FROM (
        SELECT *, row_number() OVER (PARTITION BY ticket_id
                                     ORDER BY excess_3h DESC, excess_rank) AS rank_3h
        FROM features.ticket_endpoint_excess
        WHERE excess_3h > 0
    )
    WHERE rank_3h = 1
)
SELECT i.ticket_id, i.org_id, i.investigated_at, k.window_hours, k.service, k.endpoint,
    k.status_class, coalesce(k.error_code, '') AS error_code,
    date_trunc('minute', i.investigated_at - INTERVAL 24 HOUR) AS scan_from
FROM intermediate.int_ticket_investigations AS i
JOIN top_keys AS k USING (ticket_id)
WHERE i.org_id IS NOT NULL
ORDER BY i.investigated_at, i.ticket_id, k.window_hours
