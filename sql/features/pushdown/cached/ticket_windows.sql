-- logs.ticket_windows from the warehouse's copy of the request minutes (warehouse/log_cache.py):
-- the same rows as sql/clickhouse/ticket_windows.sql for the tickets investigated, when few
-- are (the live path). A window's sums are taken over its minutes directly (ClickHouse takes
-- prefix differences): counts are equal, latency sums equal up to their last bits.
-- Windows (minute buckets, a bucket counts once complete): 1h = [t-1h, t), 6h, 24h,
-- base = [t-192h, t-24h), t = the investigation time's minute.
WITH tickets AS (
    SELECT ticket_id, nullif(org_id, '') AS org_id,
        date_trunc('minute', investigated_at) AS t
    FROM intermediate.int_ticket_investigations
),
windows AS (
    -- every ticket × scope × window; a ticket without an org has no 'org' scope
    SELECT k.ticket_id, s.scope, k.org_id, w.win, k.t - w.back_a AS a, k.t - w.back_b AS b
    FROM tickets AS k
    CROSS JOIN (VALUES ('org'), ('platform')) AS s(scope)
    CROSS JOIN (VALUES ('1h', INTERVAL 1 HOUR, INTERVAL 0 HOUR),
                       ('6h', INTERVAL 6 HOUR, INTERVAL 0 HOUR),
                       ('24h', INTERVAL 24 HOUR, INTERVAL 0 HOUR),
                       ('base', INTERVAL 192 HOUR, INTERVAL 24 HOUR)) AS w(win, back_a, back_b)
    WHERE s.scope = 'platform' OR k.org_id IS NOT NULL
),
platform_minutes AS (
    SELECT minute, sum(requests) AS requests, sum(n_4xx) AS n_4xx, sum(n_429) AS n_429,
        sum(n_5xx) AS n_5xx, sum(p95_wsum) AS p95_wsum, sum(p99_wsum) AS p99_wsum
    FROM log_cache.request_minutes
    WHERE minute >= (SELECT min(a) FROM windows) AND minute < (SELECT max(b) FROM windows)
    GROUP BY minute
),
sums AS (
    SELECT w.ticket_id, w.scope, w.win, sum(m.requests) AS requests, sum(m.n_4xx) AS n_4xx,
        sum(m.n_429) AS n_429, sum(m.n_5xx) AS n_5xx, sum(m.p95_wsum) AS p95_wsum,
        sum(m.p99_wsum) AS p99_wsum
    FROM windows AS w
    LEFT JOIN log_cache.request_minutes AS m
        ON m.org_id = w.org_id AND m.minute >= w.a AND m.minute < w.b
    WHERE w.scope = 'org'
    GROUP BY w.ticket_id, w.scope, w.win
    UNION ALL
    SELECT w.ticket_id, w.scope, w.win, sum(m.requests), sum(m.n_4xx), sum(m.n_429),
        sum(m.n_5xx), sum(m.p95_wsum), sum(m.p99_wsum)
    FROM windows AS w
    LEFT JOIN platform_minutes AS m ON m.minute >= w.a AND m.minute < w.b
    WHERE w.scope = 'platform'
    GROUP BY w.ticket_id, w.scope, w.win
)
-- no minute in a window: zeros, as a prefix difference gives
SELECT ticket_id, scope, win,
    coalesce(requests, 0)::DOUBLE AS requests, coalesce(n_4xx, 0)::DOUBLE AS n_4xx,
    coalesce(n_429, 0)::DOUBLE AS n_429, coalesce(n_5xx, 0)::DOUBLE AS n_5xx,
    coalesce(p95_wsum, 0)::DOUBLE AS p95_wsum, coalesce(p99_wsum, 0)::DOUBLE AS p99_wsum
FROM sums
