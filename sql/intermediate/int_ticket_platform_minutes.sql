-- All customers' traffic per minute by status class (the platform's own series).
SELECT
    minute,
    hour,
    sum(requests) AS requests,
    sum(n_4xx) AS n_4xx,
    sum(n_429) AS n_429,
    sum(n_5xx) AS n_5xx,
    sum(p95_wsum) AS p95_wsum,
    sum(p99_wsum) AS p99_wsum,
    count(*) AS active_orgs
FROM intermediate.int_ticket_org_minutes
GROUP BY minute, hour
