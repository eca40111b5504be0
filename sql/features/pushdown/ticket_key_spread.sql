-- Tickets for sql/clickhouse/ticket_key_spread.sql: those with an org key; windows reach back
-- 24h.
SELECT ticket_id, org_id, investigated_at,
    date_trunc('minute', investigated_at - INTERVAL 24 HOUR) AS scan_from
FROM intermediate.int_ticket_investigations
WHERE org_id IS NOT NULL
ORDER BY investigated_at, ticket_id
