-- Tickets for sql/clickhouse/ticket_service_onset.sql: those whose customer's errors are above
-- their baseline in the last 3h, with the service carrying the most of that excess.
SELECT i.ticket_id, any_value(i.org_id) AS org_id, i.investigated_at,
    arg_max(e.service, [e.excess_3h, -e.excess_rank]) AS service,
    date_trunc('hour', i.investigated_at - INTERVAL 24 HOUR) - INTERVAL 7 DAY AS scan_from
FROM intermediate.int_ticket_investigations AS i
JOIN features.ticket_endpoint_excess AS e USING (ticket_id)
WHERE e.excess_3h > 0
GROUP BY i.ticket_id, i.investigated_at
ORDER BY i.investigated_at, i.ticket_id
