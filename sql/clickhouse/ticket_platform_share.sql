-- Many customers at once, computed inside ClickHouse; one row per ticket comes back
-- (features/ticket_platform_share.sql). Of the other customers with traffic in the hour before
-- t, how many had errors (4xx other than 429, plus 5xx) or p95 latency anomalous against their
-- own baseline [t-192h, t-24h), by the test of features/ticket_traffic.sql: errors anomalous
-- when z >= 4, at least 5 errors and a rate at least twice p0 = (baseline errors + 100 x the
-- platform's baseline rate + 0.5) / (baseline requests + 101); latency anomalous when the
-- hour's p95 >= 1.5x the baseline's (10 requests or more).
-- Window sums are prefix(b) - prefix(a) over each customer's minute buckets (ASOF lookups).
-- Parameters: {ticket_id}, {org_id}, {investigated_at}, {platform_p0} per ticket;
-- [{start}, {end}).
WITH
tickets AS (
    SELECT tupleElement(x, 1) AS ticket_id, tupleElement(x, 2) AS org_id,
        tupleElement(x, 3) AS t, tupleElement(x, 4) AS plat_p0
    FROM (SELECT arrayJoin(arrayZip({ticket_id:Array(Int64)}, {org_id:Array(String)},
                                    {investigated_at:Array(DateTime64(6, 'UTC'))},
                                    {platform_p0:Array(Float64)})) AS x)
),
fine AS (
    SELECT org_id, status, toDateTime64(toStartOfMinute(ts), 3, 'UTC') AS minute,
        toFloat64(count()) AS requests, quantileExactInclusive(0.95)(latency_ms) AS p95
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
    GROUP BY org_id, service, endpoint, status, toString(ifNull(error_code, '')), minute
),
org_cum AS (
    SELECT org_id, minute,
        sum(req) OVER w AS req, sum(err) OVER w AS err, sum(p95w) OVER w AS p95w
    FROM (
        SELECT org_id, minute, sum(requests) AS req,
            sumIf(requests, status >= 400 AND status != 429) AS err,
            sum(p95 * requests) AS p95w
        FROM fine GROUP BY org_id, minute
    )
    WINDOW w AS (PARTITION BY org_id ORDER BY minute ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
),
orgs AS (
    -- the customers with requests in the scanned range, read from the table and not from
    -- org_cum: ClickHouse inlines a CTE wherever it is named, so naming org_cum here as well
    -- computed its minute quantiles twice
    SELECT DISTINCT org_id FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
),
points AS (
    SELECT k.ticket_id AS ticket_id, o.org_id AS org_id, k.plat_p0 AS plat_p0, k.k AS k,
        k.x AS x
    FROM (
        SELECT ticket_id, org_id, plat_p0, tupleElement(b, 1) AS k, tupleElement(b, 2) AS x
        FROM tickets
        ARRAY JOIN [(0, toStartOfMinute(t)), (1, toStartOfMinute(t - INTERVAL 1 HOUR)),
                    (24, toStartOfMinute(t - INTERVAL 24 HOUR)),
                    (192, toStartOfMinute(t - INTERVAL 192 HOUR))] AS b
    ) AS k
    CROSS JOIN orgs AS o
    WHERE o.org_id != k.org_id
),
cum AS (
    SELECT p.ticket_id AS ticket_id, p.org_id AS org_id, p.plat_p0 AS plat_p0, p.k AS k,
        coalesce(c.req, 0) AS req, coalesce(c.err, 0) AS err, coalesce(c.p95w, 0) AS p95w
    FROM points AS p
    ASOF LEFT JOIN org_cum AS c ON c.org_id = p.org_id AND p.x > c.minute
),
w AS (
    SELECT ticket_id, org_id, any(plat_p0) AS plat_p0,
        maxIf(req, k = 0) - maxIf(req, k = 1) AS req_1h,
        maxIf(err, k = 0) - maxIf(err, k = 1) AS err_1h,
        maxIf(p95w, k = 0) - maxIf(p95w, k = 1) AS p95w_1h,
        maxIf(req, k = 24) - maxIf(req, k = 192) AS req_base,
        maxIf(err, k = 24) - maxIf(err, k = 192) AS err_base,
        maxIf(p95w, k = 24) - maxIf(p95w, k = 192) AS p95w_base
    FROM cum GROUP BY ticket_id, org_id
),
flagged AS (
    SELECT ticket_id, org_id,
        (err_1h - req_1h * p0) / sqrt(req_1h * p0 * (1 - p0)) >= 4
            AND err_1h >= 5 AND err_1h / req_1h >= 2 * p0
        OR (req_1h >= 10 AND req_base > 0
            AND p95w_1h / req_1h >= 1.5 * p95w_base / req_base) AS anomalous
    FROM (SELECT *, (err_base + 100 * plat_p0 + 0.5) / (req_base + 101) AS p0 FROM w
          WHERE req_1h > 0)
)
SELECT k.ticket_id AS ticket_id, count(f.org_id) AS other_active_orgs_1h,
    countIf(f.anomalous) AS other_anomalous_orgs_1h
FROM tickets AS k
LEFT JOIN flagged AS f ON f.ticket_id = k.ticket_id
GROUP BY k.ticket_id
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0,
         join_use_nulls = 1
