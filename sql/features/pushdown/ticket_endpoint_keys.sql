-- Tickets for sql/clickhouse/ticket_endpoint_keys.sql: those with an org key; windows reach
-- back to the 7 whole days before the day of t - 24h.
SELECT ticket_id, org_id, investigated_at,
    date_trunc('day', investigated_at - INTERVAL 24 HOUR) - INTERVAL 7 DAY AS scan_from
FROM intermediate.int_ticket_investigations
WHERE org_id IS NOT NULL
ORDER BY investigated_at, ticket_id
