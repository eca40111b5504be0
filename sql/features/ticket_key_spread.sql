-- One customer's errors or a product's: for the ticket's top error keys (the one most above its
-- baseline in the 24h before the investigation time, and in the last 3h; see
-- ticket_endpoint_excess), how many other customers got the same key in that window, and what
-- share that is of the other customers who called the endpoint in the 24h. Near zero for a
-- mistake in one customer's integration, several accounts for a bug in the product. Counted in
-- ClickHouse (sql/clickhouse/ticket_key_spread.sql). One row per investigated ticket; NULL
-- where the ticket has no such key (no error in the window): 0 says "nobody else".
SELECT i.ticket_id,
    d.other_orgs AS top_error_other_orgs_24h,
    d.endpoint_other_callers_24h AS top_error_endpoint_other_callers_24h,
    d.other_orgs / nullif(d.endpoint_other_callers_24h, 0) AS top_error_other_share_24h,
    h.other_orgs AS top_error_other_orgs_3h,
    h.other_orgs / nullif(h.endpoint_other_callers_24h, 0) AS top_error_other_share_3h
FROM intermediate.int_ticket_investigations AS i
LEFT JOIN logs.ticket_key_spread AS d ON d.ticket_id = i.ticket_id AND d.window_hours = 24
LEFT JOIN logs.ticket_key_spread AS h ON h.ticket_id = i.ticket_id AND h.window_hours = 3
