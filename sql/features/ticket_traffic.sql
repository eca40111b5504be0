-- The customer's and the platform's traffic before the investigation time, one row per ticket.
-- Windows end at investigated_at t: 1h = [t-1h, t), 6h, 24h; baseline = the 7 days before the
-- 24h window, [t-8d, t-24h). A minute bucket counts once complete (minute + 1 min <= t).
-- Status classes: 4xx (other than 429), 429, 5xx. Latency: request-weighted mean of the
-- minute buckets' p95/p99.
-- Anomaly test per class and window (relative, no world-specific numbers): the window's count
-- against the customer's own baseline rate, shrunk toward the platform's baseline rate with
-- 100 pseudo-requests; anomalous when z >= 4, at least 5 such responses, and the rate at least
-- twice the baseline. Flags use the recent windows (1h, 6h) only; the 24h figures are reported
-- but not flagged (fewer false alarms). org_window_*: the anomalous window with the largest z.
-- Latency anomalous when the window's p95 is >= 1.5x the baseline p95.
WITH inv AS (
    SELECT ticket_id, org_id, investigated_at AS t FROM intermediate.int_ticket_investigations
),
win AS (
    -- the window sums, computed per ticket in ClickHouse (sql/clickhouse/ticket_windows.sql);
    -- a ticket without an org key has no org traffic: zero requests
    SELECT i.ticket_id, s.scope, w.win,
        coalesce(l.requests, 0) AS requests,
        coalesce(l.n_4xx, 0) AS n_4xx, coalesce(l.n_429, 0) AS n_429,
        coalesce(l.n_5xx, 0) AS n_5xx,
        l.p95_wsum / nullif(l.requests, 0) AS p95_ms,
        l.p99_wsum / nullif(l.requests, 0) AS p99_ms
    FROM inv AS i
    CROSS JOIN (VALUES ('org'), ('platform')) AS s(scope)
    CROSS JOIN (VALUES ('1h'), ('6h'), ('24h'), ('base')) AS w(win)
    LEFT JOIN logs.ticket_windows AS l
        ON l.ticket_id = i.ticket_id AND l.scope = s.scope AND l.win = w.win
),
cls AS (
    SELECT w.ticket_id, w.scope, w.win, w.requests, c.cls,
        CASE c.cls WHEN '4xx' THEN w.n_4xx WHEN '429' THEN w.n_429 ELSE w.n_5xx END AS n
    FROM win AS w CROSS JOIN (VALUES ('4xx'), ('429'), ('5xx')) AS c(cls)
),
base AS (
    SELECT o.ticket_id, o.scope, o.cls, o.n AS n_base, o.requests AS req_base,
        p.n / nullif(p.requests, 0) AS plat_rate_base
    FROM cls AS o
    JOIN cls AS p ON p.ticket_id = o.ticket_id AND p.cls = o.cls
        AND p.scope = 'platform' AND p.win = 'base'
    WHERE o.win = 'base'
),
tested AS (
    SELECT c.ticket_id, c.scope, c.win, c.cls, c.n, c.requests,
        c.n / nullif(c.requests, 0) AS rate,
        (b.n_base + 100 * coalesce(b.plat_rate_base, 0) + 0.5) / (b.req_base + 101) AS p0
    FROM cls AS c JOIN base AS b USING (ticket_id, scope, cls)
    WHERE c.win <> 'base'
),
scored AS (
    SELECT *,
        CASE WHEN requests > 0
             THEN (n - requests * p0) / sqrt(requests * p0 * (1 - p0)) ELSE 0 END AS z
    FROM tested
),
flags AS (
    SELECT *, (z >= 4 AND n >= 5 AND rate >= 2 * p0 AND win <> '24h') AS anomalous FROM scored
),
lat AS (
    SELECT w.ticket_id, w.scope, w.win, w.requests, w.p95_ms, w.p99_ms,
        w.p95_ms / nullif(b.p95_ms, 0) AS p95_ratio,
        coalesce(w.requests >= 10 AND w.p95_ms >= 1.5 * b.p95_ms AND w.win <> '24h', false) AS anomalous
    FROM win AS w
    JOIN win AS b ON b.ticket_id = w.ticket_id AND b.scope = w.scope AND b.win = 'base'
    WHERE w.win <> 'base'
),
f AS (
    SELECT ticket_id,
        max(rate) FILTER (WHERE scope = 'org' AND win = '1h' AND cls = '4xx') AS org_rate_4xx_1h,
        max(rate) FILTER (WHERE scope = 'org' AND win = '6h' AND cls = '4xx') AS org_rate_4xx_6h,
        max(rate) FILTER (WHERE scope = 'org' AND win = '24h' AND cls = '4xx') AS org_rate_4xx_24h,
        max(rate) FILTER (WHERE scope = 'org' AND win = '1h' AND cls = '429') AS org_rate_429_1h,
        max(rate) FILTER (WHERE scope = 'org' AND win = '6h' AND cls = '429') AS org_rate_429_6h,
        max(rate) FILTER (WHERE scope = 'org' AND win = '24h' AND cls = '429') AS org_rate_429_24h,
        max(rate) FILTER (WHERE scope = 'org' AND win = '1h' AND cls = '5xx') AS org_rate_5xx_1h,
        max(rate) FILTER (WHERE scope = 'org' AND win = '6h' AND cls = '5xx') AS org_rate_5xx_6h,
        max(rate) FILTER (WHERE scope = 'org' AND win = '24h' AND cls = '5xx') AS org_rate_5xx_24h,
        max(n) FILTER (WHERE scope = 'org' AND win = '24h' AND cls = '4xx') AS org_n_4xx_24h,
        max(n) FILTER (WHERE scope = 'org' AND win = '24h' AND cls = '429') AS org_n_429_24h,
        max(n) FILTER (WHERE scope = 'org' AND win = '24h' AND cls = '5xx') AS org_n_5xx_24h,
        max(p0) FILTER (WHERE scope = 'org' AND cls = '4xx') AS org_base_rate_4xx,
        max(p0) FILTER (WHERE scope = 'org' AND cls = '429') AS org_base_rate_429,
        max(p0) FILTER (WHERE scope = 'org' AND cls = '5xx') AS org_base_rate_5xx,
        max(z) FILTER (WHERE scope = 'org' AND cls = '4xx') AS org_z_4xx,
        max(z) FILTER (WHERE scope = 'org' AND cls = '429') AS org_z_429,
        max(z) FILTER (WHERE scope = 'org' AND cls = '5xx') AS org_z_5xx,
        bool_or(anomalous) FILTER (WHERE scope = 'org' AND cls = '4xx') AS org_anomalous_4xx,
        bool_or(anomalous) FILTER (WHERE scope = 'org' AND cls = '429') AS org_anomalous_429,
        bool_or(anomalous) FILTER (WHERE scope = 'org' AND cls = '5xx') AS org_anomalous_5xx,
        arg_max(win, (z, win = '1h', win = '6h'))
            FILTER (WHERE scope = 'org' AND cls = '5xx' AND anomalous) AS org_window_5xx,
        arg_max(win, (z, win = '1h', win = '6h'))
            FILTER (WHERE scope = 'org' AND cls = '4xx' AND anomalous) AS org_window_4xx,
        max(rate) FILTER (WHERE scope = 'platform' AND win = '1h' AND cls = '4xx') AS platform_rate_4xx_1h,
        max(rate) FILTER (WHERE scope = 'platform' AND win = '1h' AND cls = '429') AS platform_rate_429_1h,
        max(rate) FILTER (WHERE scope = 'platform' AND win = '1h' AND cls = '5xx') AS platform_rate_5xx_1h,
        max(rate) FILTER (WHERE scope = 'platform' AND win = '24h' AND cls = '4xx') AS platform_rate_4xx_24h,
        max(p0) FILTER (WHERE scope = 'platform' AND cls = '4xx') AS platform_base_rate_4xx,
        max(p0) FILTER (WHERE scope = 'platform' AND cls = '5xx') AS platform_base_rate_5xx,
        max(z) FILTER (WHERE scope = 'platform' AND win = '1h' AND cls = '5xx') AS platform_z_5xx_1h,
        max(z) FILTER (WHERE scope = 'platform' AND win = '1h' AND cls = '4xx') AS platform_z_4xx_1h,
        bool_or(anomalous) FILTER (WHERE scope = 'platform' AND win = '1h' AND cls IN ('4xx', '5xx'))
            AS platform_anomalous_errors_1h
    FROM flags
    GROUP BY ticket_id
),
l AS (
    SELECT ticket_id,
        max(requests) FILTER (WHERE scope = 'org' AND win = '1h') AS org_requests_1h,
        max(requests) FILTER (WHERE scope = 'org' AND win = '6h') AS org_requests_6h,
        max(requests) FILTER (WHERE scope = 'org' AND win = '24h') AS org_requests_24h,
        max(p95_ms) FILTER (WHERE scope = 'org' AND win = '1h') AS org_p95_ms_1h,
        max(p95_ms) FILTER (WHERE scope = 'org' AND win = '6h') AS org_p95_ms_6h,
        max(p95_ms) FILTER (WHERE scope = 'org' AND win = '24h') AS org_p95_ms_24h,
        max(p99_ms) FILTER (WHERE scope = 'org' AND win = '1h') AS org_p99_ms_1h,
        max(p99_ms) FILTER (WHERE scope = 'org' AND win = '24h') AS org_p99_ms_24h,
        max(p95_ratio) FILTER (WHERE scope = 'org' AND win = '1h') AS org_p95_ratio_1h,
        max(p95_ratio) FILTER (WHERE scope = 'org') AS org_p95_ratio_max,
        bool_or(anomalous) FILTER (WHERE scope = 'org') AS org_anomalous_latency,
        max(p95_ratio) FILTER (WHERE scope = 'platform' AND win = '1h') AS platform_p95_ratio_1h,
        bool_or(anomalous) FILTER (WHERE scope = 'platform' AND win = '1h')
            AS platform_anomalous_latency_1h
    FROM lat
    GROUP BY ticket_id
),
b AS (
    SELECT ticket_id,
        max(requests) FILTER (WHERE scope = 'org') AS org_requests_base,
        max(p95_ms) FILTER (WHERE scope = 'org') AS org_p95_ms_base,
        max(p99_ms) FILTER (WHERE scope = 'org') AS org_p99_ms_base,
        max(p95_ms) FILTER (WHERE scope = 'platform') AS platform_p95_ms_base
    FROM win WHERE win = 'base'
    GROUP BY ticket_id
)
SELECT
    i.ticket_id, i.org_id, i.t AS investigated_at,
    l.org_requests_1h::BIGINT AS org_requests_1h, l.org_requests_6h::BIGINT AS org_requests_6h,
    l.org_requests_24h::BIGINT AS org_requests_24h, b.org_requests_base::BIGINT AS org_requests_base,
    b.org_requests_base / 168.0 AS org_requests_per_hour_base,
    coalesce(l.org_requests_24h, 0) + coalesce(b.org_requests_base, 0) = 0 AS org_no_traffic,
    f.org_rate_4xx_1h, f.org_rate_4xx_6h, f.org_rate_4xx_24h,
    f.org_rate_429_1h, f.org_rate_429_6h, f.org_rate_429_24h,
    f.org_rate_5xx_1h, f.org_rate_5xx_6h, f.org_rate_5xx_24h,
    f.org_n_4xx_24h::BIGINT AS org_n_4xx_24h, f.org_n_429_24h::BIGINT AS org_n_429_24h,
    f.org_n_5xx_24h::BIGINT AS org_n_5xx_24h,
    f.org_base_rate_4xx, f.org_base_rate_429, f.org_base_rate_5xx,
    f.org_z_4xx, f.org_z_429, f.org_z_5xx,
    f.org_window_4xx, f.org_window_5xx,
    coalesce(f.org_anomalous_4xx, false) AS org_anomalous_4xx,
    coalesce(f.org_anomalous_429, false) AS org_anomalous_429,
    coalesce(f.org_anomalous_5xx, false) AS org_anomalous_5xx,
    l.org_p95_ms_1h, l.org_p95_ms_6h, l.org_p95_ms_24h, b.org_p95_ms_base,
    l.org_p99_ms_1h, l.org_p99_ms_24h, b.org_p99_ms_base,
    l.org_p95_ratio_1h, l.org_p95_ratio_max,
    coalesce(l.org_anomalous_latency, false) AS org_anomalous_latency,
    coalesce(f.org_anomalous_4xx OR f.org_anomalous_5xx OR l.org_anomalous_latency, false)
        AS org_anomalous_errors_or_latency,
    f.platform_rate_4xx_1h, f.platform_rate_429_1h, f.platform_rate_5xx_1h,
    f.platform_rate_4xx_24h, f.platform_base_rate_4xx, f.platform_base_rate_5xx,
    f.platform_z_4xx_1h, f.platform_z_5xx_1h,
    l.platform_p95_ratio_1h, b.platform_p95_ms_base,
    coalesce(f.platform_anomalous_errors_1h, false) AS platform_anomalous_errors_1h,
    coalesce(l.platform_anomalous_latency_1h, false) AS platform_anomalous_latency_1h,
    f.org_rate_4xx_24h / nullif(f.platform_rate_4xx_24h, 0) AS org_vs_platform_4xx_24h
FROM inv AS i
LEFT JOIN f USING (ticket_id)
LEFT JOIN l USING (ticket_id)
LEFT JOIN b USING (ticket_id)
