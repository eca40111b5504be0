-- One customer's errors or a product's: for the ticket's top error keys (the one most above its
-- baseline in the 24h before the investigation time, and in the last 3h; see
-- ticket_endpoint_excess), how many other customers hit the same key in that window, and what
-- share that is of the other customers who called the endpoint in the 24h. Near zero for a
-- mistake in one customer's integration, several accounts for a bug in the product. Counted in
-- ClickHouse (sql/clickhouse/ticket_key_spread.sql). One row per investigated ticket.
WITH spread AS (
    SELECT e.ticket_id, e.excess_rank, e.excess_3h, s.other_orgs_24h, s.other_orgs_3h,
        s.endpoint_other_callers_24h
    FROM features.ticket_endpoint_excess AS e
    JOIN logs.ticket_key_spread AS s
        ON s.ticket_id = e.ticket_id AND s.service = e.service AND s.endpoint = e.endpoint
       AND s.status_class = e.status_class AND s.error_code IS NOT DISTINCT FROM e.error_code
),
top_24h AS (
    SELECT ticket_id, other_orgs_24h, endpoint_other_callers_24h
    FROM spread WHERE excess_rank = 1
),
top_3h AS (
    SELECT ticket_id,
        arg_max(other_orgs_3h, [excess_3h, -excess_rank]) AS other_orgs_3h,
        arg_max(endpoint_other_callers_24h, [excess_3h, -excess_rank]) AS callers
    FROM spread WHERE excess_3h > 0 GROUP BY ticket_id
)
SELECT i.ticket_id,
    coalesce(d.other_orgs_24h, 0) AS top_error_other_orgs_24h,
    coalesce(d.endpoint_other_callers_24h, 0) AS top_error_endpoint_other_callers_24h,
    d.other_orgs_24h / nullif(d.endpoint_other_callers_24h, 0) AS top_error_other_share_24h,
    coalesce(h.other_orgs_3h, 0) AS top_error_other_orgs_3h,
    h.other_orgs_3h / nullif(h.callers, 0) AS top_error_other_share_3h
FROM intermediate.int_ticket_investigations AS i
LEFT JOIN top_24h AS d USING (ticket_id)
LEFT JOIN top_3h AS h USING (ticket_id)
