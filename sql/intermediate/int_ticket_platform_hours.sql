-- All customers' traffic per hour with running totals (see int_ticket_org_hours).
WITH h AS (
    SELECT hour,
        sum(requests) AS requests, sum(n_4xx) AS n_4xx, sum(n_429) AS n_429,
        sum(n_5xx) AS n_5xx, sum(p95_wsum) AS p95_wsum, sum(p99_wsum) AS p99_wsum
    FROM intermediate.int_ticket_platform_minutes
    GROUP BY hour
)
SELECT *,
    sum(requests) OVER w AS cum_requests,
    sum(n_4xx) OVER w AS cum_4xx,
    sum(n_429) OVER w AS cum_429,
    sum(n_5xx) OVER w AS cum_5xx,
    sum(p95_wsum) OVER w AS cum_p95_wsum,
    sum(p99_wsum) OVER w AS cum_p99_wsum
FROM h
WINDOW w AS (ORDER BY hour ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
