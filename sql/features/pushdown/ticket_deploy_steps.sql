-- Tickets for sql/clickhouse/ticket_deploy_steps.sql: those of this run with a candidate deploy, with the
-- deployed service and when it went live.
SELECT ticket_id, t AS investigated_at, service, deployed_at,
    date_trunc('minute', deployed_at - INTERVAL 6 HOUR) AS scan_from
FROM features.ticket_deploy_candidates
WHERE ticket_id IN (SELECT ticket_id FROM intermediate.int_ticket_investigations)
ORDER BY t, ticket_id
