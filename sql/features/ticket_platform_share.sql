-- Many customers at once: of the other orgs with traffic in the hour before the investigation
-- time, how many had errors (4xx other than 429, plus 5xx) or p95 latency anomalous against
-- their own 7-day baseline, by the same test as ticket_traffic.
WITH inv AS (
    SELECT ticket_id, org_id, investigated_at AS t,
        coalesce(platform_base_rate_4xx, 0) + coalesce(platform_base_rate_5xx, 0) AS plat_p0
    FROM features.ticket_traffic
),
orgs AS (
    SELECT DISTINCT org_id FROM intermediate.int_ticket_org_hours
),
pairs AS (
    -- prefix sums at each boundary as in ticket_traffic: hourly running total + partial hour
    SELECT i.ticket_id, i.plat_p0, o.org_id, b.k, date_trunc('minute', i.t - b.back) AS x,
        date_trunc('hour', date_trunc('minute', i.t - b.back)) AS xh
    FROM inv AS i
    JOIN orgs AS o ON o.org_id IS DISTINCT FROM i.org_id
    CROSS JOIN (VALUES (0, INTERVAL 0 HOUR), (1, INTERVAL 1 HOUR), (24, INTERVAL 24 HOUR),
                       (192, INTERVAL 192 HOUR)) AS b(k, back)
),
part AS (
    SELECT p.ticket_id, p.org_id, p.k, sum(m.requests) AS req,
        sum(m.n_4xx + m.n_5xx) AS err, sum(m.p95_wsum) AS p95w
    FROM pairs AS p
    JOIN intermediate.int_ticket_org_minutes AS m
        ON m.org_id = p.org_id AND m.hour = p.xh AND m.minute < p.x
    GROUP BY p.ticket_id, p.org_id, p.k
),
cum AS (
    SELECT p.ticket_id, p.plat_p0, p.org_id, p.k,
        coalesce(m.cum_requests, 0) + coalesce(q.req, 0) AS req,
        coalesce(m.cum_4xx, 0) + coalesce(m.cum_5xx, 0) + coalesce(q.err, 0) AS err,
        coalesce(m.cum_p95_wsum, 0) + coalesce(q.p95w, 0) AS p95w
    FROM pairs AS p
    ASOF LEFT JOIN intermediate.int_ticket_org_hours AS m
        ON p.org_id = m.org_id AND p.xh - INTERVAL 1 HOUR >= m.hour
    LEFT JOIN part AS q ON q.ticket_id = p.ticket_id AND q.org_id = p.org_id AND q.k = p.k
),
w AS (
    SELECT ticket_id, org_id, any_value(plat_p0) AS plat_p0,
        max(req) FILTER (WHERE k = 0) - max(req) FILTER (WHERE k = 1) AS req_1h,
        max(err) FILTER (WHERE k = 0) - max(err) FILTER (WHERE k = 1) AS err_1h,
        max(p95w) FILTER (WHERE k = 0) - max(p95w) FILTER (WHERE k = 1) AS p95w_1h,
        max(req) FILTER (WHERE k = 24) - max(req) FILTER (WHERE k = 192) AS req_base,
        max(err) FILTER (WHERE k = 24) - max(err) FILTER (WHERE k = 192) AS err_base,
        max(p95w) FILTER (WHERE k = 24) - max(p95w) FILTER (WHERE k = 192) AS p95w_base
    FROM cum
    GROUP BY ticket_id, org_id
),
tested AS (
    SELECT *,
        (err_base + 100 * plat_p0 + 0.5) / (req_base + 101) AS p0
    FROM w WHERE req_1h > 0
),
flagged AS (
    SELECT ticket_id, org_id,
        ((err_1h - req_1h * p0) / sqrt(req_1h * p0 * (1 - p0)) >= 4
            AND err_1h >= 5 AND err_1h / req_1h >= 2 * p0)
        OR (req_1h >= 10 AND req_base > 0
            AND p95w_1h / req_1h >= 1.5 * p95w_base / req_base) AS anomalous
    FROM tested
)
SELECT
    i.ticket_id,
    count(f.org_id) AS other_active_orgs_1h,
    count(f.org_id) FILTER (WHERE f.anomalous) AS other_anomalous_orgs_1h,
    count(f.org_id) FILTER (WHERE f.anomalous) / nullif(count(f.org_id), 0)
        AS other_anomalous_share_1h
FROM inv AS i
LEFT JOIN flagged AS f USING (ticket_id)
GROUP BY i.ticket_id
