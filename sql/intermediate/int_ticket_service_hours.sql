-- Per service and hour, with running totals per service (see int_ticket_org_hours).
WITH h AS (
    SELECT service, hour, sum(requests) AS requests, sum(n_err) AS n_err,
        sum(p95_wsum) AS p95_wsum
    FROM intermediate.int_ticket_service_minutes
    GROUP BY service, hour
)
SELECT *,
    sum(requests) OVER w AS cum_requests,
    sum(n_err) OVER w AS cum_err,
    sum(p95_wsum) OVER w AS cum_p95_wsum
FROM h
WINDOW w AS (PARTITION BY service ORDER BY hour ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
