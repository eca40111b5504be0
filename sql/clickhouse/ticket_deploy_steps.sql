-- Per ticket with a candidate deploy, the deployed service's platform-wide step change,
-- computed inside ClickHouse; one row per ticket comes back (features/ticket_deploys.sql).
-- Windows of minute buckets (all customers): before = [deployed_at - 6h, deployed_at), after =
-- [deployed_at, least(deployed_at + 1h, t)), each boundary cut to its minute. Sums: requests,
-- errors (4xx other than 429, plus 5xx), request-weighted p95 of the minute buckets (a
-- bucket's quantile per org × service × endpoint × status × error_code × minute).
-- Parameters: {ticket_id}, {investigated_at}, {service}, {deployed_at}; [{start}, {end}).
WITH
tickets AS (
    SELECT tupleElement(x, 1) AS ticket_id, tupleElement(x, 2) AS t,
        tupleElement(x, 3) AS service, tupleElement(x, 4) AS deployed_at
    FROM (SELECT arrayJoin(arrayZip({ticket_id:Array(Int64)},
                                    {investigated_at:Array(DateTime64(6, 'UTC'))},
                                    {service:Array(String)},
                                    {deployed_at:Array(DateTime64(6, 'UTC'))})) AS x)
),
fine AS (
    SELECT toString(service) AS service, status,
        toDateTime64(toStartOfMinute(ts), 3, 'UTC') AS minute,
        toFloat64(count()) AS n, quantileExactInclusive(0.95)(latency_ms) AS p95
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
      AND toString(service) IN (SELECT service FROM tickets)
    GROUP BY org_id, service, endpoint, status, toString(ifNull(error_code, '')), minute
),
service_minutes AS (
    SELECT service, minute, sum(n) AS requests,
        sumIf(n, status >= 400 AND status != 429) AS n_err,
        sum(p95 * n) AS p95_wsum
    FROM fine GROUP BY service, minute
),
bounds AS (
    SELECT ticket_id, service, toStartOfMinute(deployed_at - INTERVAL 6 HOUR) AS x_before,
        toStartOfMinute(deployed_at) AS x_deploy,
        toStartOfMinute(least(deployed_at + INTERVAL 1 HOUR, t)) AS x_after
    FROM tickets
)
SELECT b.ticket_id AS ticket_id,
    sumIf(m.requests, m.minute >= b.x_before AND m.minute < b.x_deploy) AS req_before,
    sumIf(m.n_err, m.minute >= b.x_before AND m.minute < b.x_deploy) AS err_before,
    sumIf(m.p95_wsum, m.minute >= b.x_before AND m.minute < b.x_deploy) AS p95w_before,
    sumIf(m.requests, m.minute >= b.x_deploy AND m.minute < b.x_after) AS req_after,
    sumIf(m.n_err, m.minute >= b.x_deploy AND m.minute < b.x_after) AS err_after,
    sumIf(m.p95_wsum, m.minute >= b.x_deploy AND m.minute < b.x_after) AS p95w_after
FROM bounds AS b
LEFT JOIN service_minutes AS m ON m.service = b.service
    AND m.minute >= b.x_before AND m.minute < b.x_after
GROUP BY b.ticket_id
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0,
         join_use_nulls = 1
