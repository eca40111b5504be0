-- The range for sql/clickhouse/log_vocabulary.sql: the logs up to the latest investigation time
-- (a term seen later is usable by no ticket).
SELECT max(investigated_at) AS investigated_at, TIMESTAMP '1970-01-01' AS scan_from
FROM intermediate.int_ticket_investigations
