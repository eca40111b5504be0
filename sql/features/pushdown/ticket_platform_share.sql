-- Tickets for sql/clickhouse/ticket_platform_share.sql: every ticket this run investigates, with
-- the platform's baseline error rate (4xx other than 429, plus 5xx) the other customers are
-- tested against.
SELECT ticket_id, org_id, investigated_at,
    coalesce(platform_base_rate_4xx, 0) + coalesce(platform_base_rate_5xx, 0) AS platform_p0,
    date_trunc('minute', investigated_at - INTERVAL 193 HOUR) AS scan_from
FROM features.ticket_traffic
WHERE ticket_id IN (SELECT ticket_id FROM intermediate.int_ticket_investigations)
ORDER BY investigated_at, ticket_id
