-- Per org and hour, the same sums as int_ticket_org_minutes plus running totals per org
-- (cum_* include the hour). A window [a, b) is then: prefix(b) - prefix(a), where
-- prefix(x) = cum_* of the last hour before x's hour + x's hour's minutes before x
-- (one ASOF lookup and at most 60 minute rows per boundary: cost follows tickets, not logs).
WITH h AS (
    SELECT org_id, hour,
        sum(requests) AS requests, sum(n_4xx) AS n_4xx, sum(n_429) AS n_429,
        sum(n_5xx) AS n_5xx, sum(p95_wsum) AS p95_wsum, sum(p99_wsum) AS p99_wsum
    FROM intermediate.int_ticket_org_minutes
    GROUP BY org_id, hour
)
SELECT *,
    sum(requests) OVER w AS cum_requests,
    sum(n_4xx) OVER w AS cum_4xx,
    sum(n_429) OVER w AS cum_429,
    sum(n_5xx) OVER w AS cum_5xx,
    sum(p95_wsum) OVER w AS cum_p95_wsum,
    sum(p99_wsum) OVER w AS cum_p99_wsum
FROM h
WINDOW w AS (PARTITION BY org_id ORDER BY hour ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
