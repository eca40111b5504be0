-- The range for sql/clickhouse/log_vocabulary.sql: the logs up to the latest investigation time
-- of this run's tickets (a term seen later is usable by none of them; no ticket, no term).
SELECT max(investigated_at) AS investigated_at, TIMESTAMP '1970-01-01' AS scan_from
FROM intermediate.int_ticket_investigations
