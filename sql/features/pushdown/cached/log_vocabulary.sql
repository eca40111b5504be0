-- logs.log_vocabulary from the warehouse's copy of the log terms (warehouse/log_cache.py): the
-- same rows as sql/clickhouse/log_vocabulary.sql — the terms whose first request is before the
-- latest investigation time (ClickHouse compares at milliseconds), each with the end of the
-- minute it was first seen in. No ticket, no term.
SELECT kind, term, date_trunc('minute', first_ts) + INTERVAL 1 MINUTE AS first_seen_at
FROM log_cache.log_terms
WHERE first_ts < (SELECT date_trunc('millisecond', max(investigated_at))
                  FROM intermediate.int_ticket_investigations)
