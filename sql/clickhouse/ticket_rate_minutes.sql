-- Per ticket, the customer's requests per minute in the 1h and 24h before t against its plan's
-- per-minute limit, computed inside ClickHouse; one row per ticket comes back
-- (features/ticket_rate_limit.sql). Requests count every status (a rejected request is an
-- attempt too); a minute is at the limit when its requests >= the limit (never, without one).
-- Peak minute: the busiest, the later on ties.
-- Parameters: {ticket_id}, {org_id}, {investigated_at}, {rate_limit} per ticket (NULL when
-- the plan has none); [{start}, {end}): the scanned range.
WITH
tickets AS (
    SELECT tupleElement(x, 1) AS ticket_id, tupleElement(x, 2) AS org_id,
        tupleElement(x, 3) AS t, tupleElement(x, 4) AS rate_limit
    FROM (SELECT arrayJoin(arrayZip({ticket_id:Array(Int64)}, {org_id:Array(String)},
                                    {investigated_at:Array(DateTime64(6, 'UTC'))},
                                    {rate_limit:Array(Nullable(Float64))})) AS x)
),
org_minutes AS (
    SELECT org_id, toDateTime64(toStartOfMinute(ts), 3, 'UTC') AS minute,
        toFloat64(count()) AS requests, toFloat64(countIf(status = 429)) AS n_429
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
      AND org_id IN (SELECT org_id FROM tickets)
    GROUP BY org_id, minute
),
mins AS (
    SELECT k.ticket_id AS ticket_id, k.rate_limit AS rate_limit, m.minute AS minute,
        m.requests AS requests, m.n_429 AS n_429,
        m.minute >= toStartOfMinute(k.t - INTERVAL 1 HOUR) AS in_1h,
        ifNull(m.requests >= k.rate_limit, false) AS at_limit
    FROM tickets AS k
    JOIN org_minutes AS m ON m.org_id = k.org_id
    WHERE m.minute >= toStartOfMinute(k.t - INTERVAL 24 HOUR) AND m.minute < toStartOfMinute(k.t)
)
SELECT ticket_id,
    maxIfOrNull(requests, in_1h) AS peak_rpm_1h,
    max(requests) AS peak_rpm_24h,
    argMax(minute, (requests, minute)) AS peak_minute_24h,
    countIf(in_1h) AS active_minutes_1h,
    countIf(in_1h AND at_limit) AS minutes_at_limit_1h,
    count() AS active_minutes_24h,
    countIf(at_limit) AS minutes_at_limit_24h,
    sumIf(n_429, in_1h) AS n_429_1h,
    sum(n_429) AS n_429_24h,
    countIf(n_429 > 0) AS minutes_with_429_24h,
    countIf(n_429 > 0 AND at_limit) AS minutes_429_at_limit_24h
FROM mins
GROUP BY ticket_id
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0
