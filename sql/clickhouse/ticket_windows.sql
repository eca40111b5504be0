-- Per ticket, the customer's and the platform's traffic in the windows before its
-- investigation time t, computed inside ClickHouse: one row per ticket × scope × window comes
-- back, whatever the log volume (features/ticket_traffic.sql reads these sums).
-- Windows (minute buckets, a bucket counts once complete: minute + 1 min <= t):
--   1h = [t-1h, t), 6h, 24h, base = [t-192h, t-24h).
-- Sums per window: requests; 4xx other than 429; 429; 5xx; request-weighted p95 / p99 of the
-- minute buckets (a bucket's quantile is taken per org × service × endpoint × status ×
-- error_code × minute, exact with linear interpolation, as request_minutes.sql).
-- Each window is prefix(b) - prefix(a), prefix(x) = the running total of minutes before x
-- (ASOF lookup), so the work is one pass over the scanned range plus a lookup per boundary.
-- Parameters: the ticket list as parallel arrays ({ticket_id}, {org_id}: '' when the ticket
-- has no org, {investigated_at}); the scanned ranges, which must cover every window of every
-- ticket in the list: [{start}, {end}).
WITH
tickets AS (
    SELECT tupleElement(x, 1) AS ticket_id, tupleElement(x, 2) AS org_id,
        tupleElement(x, 3) AS t
    FROM (SELECT arrayJoin(arrayZip({ticket_id:Array(Int64)}, {org_id:Array(String)},
                                    {investigated_at:Array(DateTime64(6, 'UTC'))})) AS x)
),
fine AS (
    SELECT org_id, status, toDateTime64(toStartOfMinute(ts), 3, 'UTC') AS minute,
        toFloat64(count()) AS requests,
        quantilesExactInclusive(0.95, 0.99)(latency_ms) AS q
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
    GROUP BY org_id, service, endpoint, status, toString(ifNull(error_code, '')), minute
),
minutes AS (
    -- per scope and minute: 'org' per customer (scope_key = its org_id), 'platform' over all
    -- customers (scope_key = ''); each row of `fine` counts for both, in one pass. ClickHouse
    -- inlines a CTE wherever it is named, so from here on each CTE over the logs is named once
    -- (a CTE named twice, as `cum` was through two joins, is computed twice over the scanned
    -- range); only `windows`, a few rows per ticket, is named twice
    SELECT tupleElement(s, 1) AS scope, tupleElement(s, 2) AS scope_key, minute,
        sum(requests) AS req,
        sumIf(requests, status BETWEEN 400 AND 499 AND status != 429) AS e4,
        sumIf(requests, status = 429) AS e429,
        sumIf(requests, status >= 500) AS e5,
        sum(q[1] * requests) AS p95w,
        sum(q[2] * requests) AS p99w
    FROM fine
    ARRAY JOIN [('org', org_id), ('platform', '')] AS s
    GROUP BY scope, scope_key, minute
),
cum AS (
    -- running totals per scope
    SELECT scope, scope_key, minute,
        sum(req) OVER w AS req, sum(e4) OVER w AS e4, sum(e429) OVER w AS e429,
        sum(e5) OVER w AS e5, sum(p95w) OVER w AS p95w, sum(p99w) OVER w AS p99w
    FROM minutes
    WINDOW w AS (PARTITION BY scope, scope_key ORDER BY minute
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
windows AS (
    -- every ticket × scope × window; a ticket without an org has no 'org' scope
    SELECT ticket_id, tupleElement(s, 1) AS scope, tupleElement(s, 2) AS scope_key,
        tupleElement(w, 1) AS win, tupleElement(w, 2) AS a, tupleElement(w, 3) AS b
    FROM tickets
    ARRAY JOIN [('org', org_id), ('platform', '')] AS s
    ARRAY JOIN [
        ('1h', toStartOfMinute(t - INTERVAL 1 HOUR), toStartOfMinute(t)),
        ('6h', toStartOfMinute(t - INTERVAL 6 HOUR), toStartOfMinute(t)),
        ('24h', toStartOfMinute(t - INTERVAL 24 HOUR), toStartOfMinute(t)),
        ('base', toStartOfMinute(t - INTERVAL 192 HOUR), toStartOfMinute(t - INTERVAL 24 HOUR))
    ] AS w
    WHERE NOT (scope = 'org' AND scope_key = '')
),
points AS (
    SELECT DISTINCT ticket_id, scope, scope_key, x
    FROM windows ARRAY JOIN [a, b] AS x
),
at_point AS (
    -- the running totals of the minutes before x (none yet: 0)
    SELECT p.ticket_id, p.scope, p.x, coalesce(c.req, 0) AS req, coalesce(c.e4, 0) AS e4,
        coalesce(c.e429, 0) AS e429, coalesce(c.e5, 0) AS e5, coalesce(c.p95w, 0) AS p95w,
        coalesce(c.p99w, 0) AS p99w
    FROM points AS p
    ASOF LEFT JOIN cum AS c ON c.scope = p.scope AND c.scope_key = p.scope_key AND p.x > c.minute
),
bounds AS (
    -- each window's end counted +1 and its start -1: a window's sums are prefix(b) - prefix(a)
    SELECT ticket_id, scope, win, tupleElement(e, 1) AS x, tupleElement(e, 2) AS sign
    FROM windows
    ARRAY JOIN [(b, 1), (a, -1)] AS e
)
SELECT w.ticket_id AS ticket_id, w.scope AS scope, w.win AS win,
    sum(w.sign * p.req) AS requests, sum(w.sign * p.e4) AS n_4xx,
    sum(w.sign * p.e429) AS n_429, sum(w.sign * p.e5) AS n_5xx,
    sum(w.sign * p.p95w) AS p95_wsum, sum(w.sign * p.p99w) AS p99_wsum
FROM bounds AS w
JOIN at_point AS p ON p.ticket_id = w.ticket_id AND p.scope = w.scope AND p.x = w.x
GROUP BY w.ticket_id, w.scope, w.win
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0,
         join_use_nulls = 1
