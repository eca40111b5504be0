-- Per ticket whose customer's traffic is anomalous, when the current level began: the CUSUM
-- change point over the customer's minute buckets in the 24h before t, computed inside
-- ClickHouse; one row per ticket comes back (features/ticket_onset.sql decides which onset
-- counts). Errors = 4xx other than 429, plus 5xx. Per minute m with traffic:
--   err_excess = errors - requests x p0;  err_llr = errors x ln(p1/p0) - requests x (p1 - p0)
--   lat_step = +1 when the minute's request-weighted p95 >= 1.5 x the baseline p95, else -1
-- and each is summed from m to the end of the window; the onset is the minute with the largest
-- suffix (ties: the earlier). When p1 <= p0 there is no likelihood ratio: the onset is the
-- window's first minute and its excess the whole window's (as the warehouse's arg_max ranks a
-- missing score first).
-- Parameters: {ticket_id}, {org_id}, {investigated_at}, and per ticket {p0}, {p1},
-- {p95_base} (from features.ticket_traffic); [{start}, {end}): the scanned range.
WITH
tickets AS (
    SELECT tupleElement(x, 1) AS ticket_id, tupleElement(x, 2) AS org_id,
        tupleElement(x, 3) AS t, tupleElement(x, 4) AS p0, tupleElement(x, 5) AS p1,
        tupleElement(x, 6) AS p95_base
    FROM (SELECT arrayJoin(arrayZip({ticket_id:Array(Int64)}, {org_id:Array(String)},
                                    {investigated_at:Array(DateTime64(6, 'UTC'))},
                                    {p0:Array(Float64)}, {p1:Array(Float64)},
                                    {p95_base:Array(Nullable(Float64))})) AS x)
),
fine AS (
    SELECT org_id, status, toDateTime64(toStartOfMinute(ts), 3, 'UTC') AS minute,
        toFloat64(count()) AS n, quantileExactInclusive(0.95)(latency_ms) AS p95
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
      AND org_id IN (SELECT org_id FROM tickets)
    GROUP BY org_id, service, endpoint, status, toString(ifNull(error_code, '')), minute
),
org_minutes AS (
    SELECT org_id, minute, sum(n) AS requests,
        sumIf(n, status >= 400 AND status != 429) AS errors,
        sum(p95 * n) AS p95_wsum
    FROM fine GROUP BY org_id, minute
),
mins AS (
    SELECT k.ticket_id AS ticket_id, m.minute AS minute,
        m.errors - m.requests * k.p0 AS err_excess,
        if(k.p1 > k.p0, m.errors * ln(k.p1 / k.p0) - m.requests * (k.p1 - k.p0), NULL) AS err_llr,
        if(m.p95_wsum / m.requests >= 1.5 * k.p95_base, 1, -1) AS lat_step
    FROM tickets AS k
    JOIN org_minutes AS m ON m.org_id = k.org_id
    WHERE m.minute >= toStartOfMinute(k.t - INTERVAL 24 HOUR) AND m.minute < toStartOfMinute(k.t)
),
suffix AS (
    SELECT ticket_id, minute, err_llr,
        sum(err_excess) OVER w AS err_suffix,
        sum(err_llr) OVER w AS err_llr_suffix,
        sum(lat_step) OVER w AS lat_suffix
    FROM mins
    WINDOW w AS (PARTITION BY ticket_id ORDER BY minute DESC
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
)
SELECT ticket_id,
    if(countIf(err_llr IS NULL) > 0, min(minute),
       argMax(minute, (assumeNotNull(err_llr_suffix), -toUnixTimestamp(minute)))) AS err_onset_at,
    if(countIf(err_llr IS NULL) > 0, argMin(err_suffix, minute),
       argMax(err_suffix, (assumeNotNull(err_llr_suffix), -toUnixTimestamp(minute))))
        AS err_onset_excess,
    argMax(minute, (lat_suffix, -toUnixTimestamp(minute))) AS lat_onset_at,
    max(lat_suffix) AS lat_onset_score
FROM suffix
GROUP BY ticket_id
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0
