-- Tickets for sql/clickhouse/ticket_rate_minutes.sql: those with an org key, with their plan's
-- per-minute limit at the investigation time (NULL: none known).
SELECT i.ticket_id, i.org_id, i.investigated_at, p.rate_limit_per_minute AS rate_limit,
    date_trunc('minute', i.investigated_at - INTERVAL 24 HOUR) AS scan_from
FROM intermediate.int_ticket_investigations AS i
LEFT JOIN features.ticket_plan AS p USING (ticket_id)
WHERE i.org_id IS NOT NULL
ORDER BY i.investigated_at, i.ticket_id
