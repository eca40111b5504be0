-- Tickets for sql/clickhouse/ticket_windows.sql (warehouse/pushdown.py): every ticket, with the
-- org key of the request logs (NULL: no traffic to read) and how far back its windows reach
-- (192h of minute buckets).
SELECT ticket_id, org_id, investigated_at,
    date_trunc('minute', investigated_at - INTERVAL 193 HOUR) AS scan_from
FROM intermediate.int_ticket_investigations
ORDER BY investigated_at, ticket_id
