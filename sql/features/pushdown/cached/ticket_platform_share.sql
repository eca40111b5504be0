-- logs.ticket_platform_share from the warehouse's copy of the request minutes
-- (warehouse/log_cache.py): the same rows as sql/clickhouse/ticket_platform_share.sql (see its
-- test) for the tickets investigated, when few are (the live path); window sums over the
-- minutes directly, so counts are equal and latency sums equal up to their last bits.
-- Of the other customers with traffic in [t-1h, t): how many, and how many anomalous against
-- their own baseline [t-192h, t-24h) (t = the investigation time's minute).
WITH tickets AS (
    SELECT ticket_id, coalesce(org_id, '') AS org_id,
        date_trunc('minute', investigated_at) AS t,
        coalesce(platform_base_rate_4xx, 0) + coalesce(platform_base_rate_5xx, 0) AS plat_p0
    FROM features.ticket_traffic
    WHERE ticket_id IN (SELECT ticket_id FROM intermediate.int_ticket_investigations)
),
last_hour AS (
    SELECT k.ticket_id, m.org_id, any_value(k.t) AS t, any_value(k.plat_p0) AS plat_p0,
        sum(m.requests) AS req_1h, sum(m.n_4xx + m.n_5xx) AS err_1h,
        sum(m.p95_wsum) AS p95w_1h
    FROM tickets AS k
    JOIN log_cache.request_minutes AS m
        ON m.org_id <> k.org_id AND m.minute >= k.t - INTERVAL 1 HOUR AND m.minute < k.t
    GROUP BY k.ticket_id, m.org_id
),
w AS (
    SELECT h.ticket_id, h.org_id, h.plat_p0, h.req_1h, h.err_1h, h.p95w_1h,
        coalesce(sum(m.requests), 0) AS req_base, coalesce(sum(m.n_4xx + m.n_5xx), 0) AS err_base,
        coalesce(sum(m.p95_wsum), 0) AS p95w_base
    FROM last_hour AS h
    LEFT JOIN log_cache.request_minutes AS m
        ON m.org_id = h.org_id AND m.minute >= h.t - INTERVAL 192 HOUR
        AND m.minute < h.t - INTERVAL 24 HOUR
    GROUP BY ALL
),
flagged AS (
    SELECT ticket_id, org_id,
        (err_1h - req_1h * p0) / sqrt(req_1h * p0 * (1 - p0)) >= 4
            AND err_1h >= 5 AND err_1h / req_1h >= 2 * p0
        OR (req_1h >= 10 AND req_base > 0
            AND p95w_1h / req_1h >= 1.5 * p95w_base / nullif(req_base, 0)) AS anomalous
    FROM (SELECT *, (err_base + 100 * plat_p0 + 0.5) / (req_base + 101) AS p0 FROM w)
)
SELECT k.ticket_id, count(f.org_id)::UBIGINT AS other_active_orgs_1h,
    count(*) FILTER (WHERE f.anomalous)::UBIGINT AS other_anomalous_orgs_1h
FROM tickets AS k
LEFT JOIN flagged AS f ON f.ticket_id = k.ticket_id
GROUP BY k.ticket_id
