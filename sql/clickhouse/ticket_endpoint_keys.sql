-- Per ticket, the customer's errors by key (service, endpoint, status class, error code) in the
-- 24h and 3h before its investigation time t, against the key's own baseline (the 7 whole days
-- before the day the 24h window starts in), computed inside ClickHouse: one row per ticket and
-- error key comes back (features/ticket_endpoint_excess.sql ranks them by excess).
-- Status classes: 5xx, 4xx other than 429 (429 is the rate limiter, not a failure); the
-- endpoint's requests count every status. Minute buckets as the warehouse's: [t-24h, t) is
-- minute >= toStartOfMinute(t-24h) and < toStartOfMinute(t). `status`: the key's most common
-- status over its minute buckets (ties: the lower status).
-- Parameters: the ticket list ({ticket_id}, {org_id}, {investigated_at}); [{start}, {end}):
-- the scanned range, covering every ticket's baseline. The windows are read at the minute grain and the
-- baselines by day, each over its own range only (ClickHouse inlines a CTE wherever it is
-- named: one minute-grain CTE over the whole range was read five times; measured 0.16 s ->
-- 0.12 s for one ticket, 11.5 s -> 7.9 s for 3,000, the same rows).
WITH
tickets AS (
    SELECT tupleElement(x, 1) AS ticket_id, tupleElement(x, 2) AS org_id,
        tupleElement(x, 3) AS t
    FROM (SELECT arrayJoin(arrayZip({ticket_id:Array(Int64)}, {org_id:Array(String)},
                                    {investigated_at:Array(DateTime64(6, 'UTC'))})) AS x)
    WHERE org_id != ''
),
fine AS (
    -- the 24h windows at the request-minute grain, counts only: a scan of the windows alone
    SELECT org_id, service, endpoint, status, nullIf(lower(code), '') AS error_code,
        multiIf(status >= 500, '5xx', status >= 400 AND status != 429, '4xx', NULL) AS status_class,
        minute, requests
    FROM (
        SELECT org_id, toString(service) AS service, toString(endpoint) AS endpoint, status,
            toString(ifNull(error_code, '')) AS code,
            toDateTime64(toStartOfMinute(ts), 3, 'UTC') AS minute,
            toFloat64(count()) AS requests
        FROM {database:Identifier}.requests
        WHERE ts >= (SELECT min(toStartOfMinute(t - INTERVAL 24 HOUR)) FROM tickets)
          AND ts < {end:DateTime64(3, 'UTC')}
          AND org_id IN (SELECT org_id FROM tickets)
        GROUP BY org_id, service, endpoint, status, code, minute
    )
),
win_rows AS (
    -- each ticket meets only its org's rows of the two days its 24h window touches
    SELECT k.ticket_id AS ticket_id, k.t AS t, f.service AS service, f.endpoint AS endpoint,
        f.status AS status, f.error_code AS error_code, f.status_class AS status_class,
        f.minute AS minute, f.requests AS requests
    FROM (SELECT ticket_id, org_id, t, day FROM tickets
          ARRAY JOIN [toStartOfDay(t - INTERVAL 24 HOUR), toStartOfDay(t)] AS day) AS k
    JOIN (SELECT *, toStartOfDay(minute) AS day FROM fine) AS f
        ON f.org_id = k.org_id AND f.day = k.day
    WHERE f.minute >= toStartOfMinute(k.t - INTERVAL 24 HOUR) AND f.minute < toStartOfMinute(k.t)
),
win AS (
    SELECT ticket_id, service, endpoint, status_class, error_code,
        sum(requests) AS errors_24h,
        sumIf(requests, minute >= toStartOfMinute(t - INTERVAL 3 HOUR)) AS errors_3h,
        min(minute) AS first_minute
    FROM win_rows
    WHERE status_class IS NOT NULL
    GROUP BY ticket_id, service, endpoint, status_class, error_code
),
win_status AS (
    SELECT ticket_id, service, endpoint, status_class, error_code,
        argMax(status, (rows, -toInt32(status))) AS status
    FROM (
        SELECT ticket_id, service, endpoint, status_class, error_code, status, count() AS rows
        FROM win_rows WHERE status_class IS NOT NULL
        GROUP BY ticket_id, service, endpoint, status_class, error_code, status
    )
    GROUP BY ticket_id, service, endpoint, status_class, error_code
),
win_ep AS (
    SELECT ticket_id, service, endpoint, sum(requests) AS ep_requests,
        sumIf(requests, minute >= toStartOfMinute(t - INTERVAL 3 HOUR)) AS ep_requests_3h
    FROM win_rows GROUP BY ticket_id, service, endpoint
),
fine_days AS (
    -- the baselines' whole days, counted by day: a scan of [start, the last baseline's end)
    SELECT org_id, day, service, endpoint,
        multiIf(status >= 500, '5xx', status >= 400 AND status != 429, '4xx', NULL) AS status_class,
        nullIf(lower(code), '') AS error_code, sum(requests) AS day_requests
    FROM (
        SELECT org_id, toString(service) AS service, toString(endpoint) AS endpoint, status,
            toString(ifNull(error_code, '')) AS code,
            toDateTime64(toStartOfDay(ts), 3, 'UTC') AS day,
            toFloat64(count()) AS requests
        FROM {database:Identifier}.requests
        WHERE ts >= {start:DateTime64(3, 'UTC')}
          AND ts < (SELECT max(toStartOfDay(t - INTERVAL 24 HOUR)) FROM tickets)
          AND org_id IN (SELECT org_id FROM tickets)
        GROUP BY org_id, service, endpoint, status, code, day
    )
    GROUP BY org_id, day, service, endpoint, status_class, error_code
),
base_rows AS (
    -- the 7 whole days before the day of t - 24h
    SELECT k.ticket_id AS ticket_id, f.service AS service, f.endpoint AS endpoint,
        f.status_class AS status_class, f.error_code AS error_code, f.day_requests AS requests
    FROM (SELECT ticket_id, org_id, day FROM tickets
          ARRAY JOIN arrayMap(i -> toStartOfDay(t - INTERVAL 24 HOUR) - toIntervalDay(i + 1),
                              range(7)) AS day) AS k
    JOIN fine_days AS f ON f.org_id = k.org_id AND f.day = k.day
),
base AS (
    SELECT ticket_id, service, endpoint, status_class, error_code, sum(requests) AS requests
    FROM base_rows WHERE status_class IS NOT NULL
    GROUP BY ticket_id, service, endpoint, status_class, error_code
),
base_ep AS (
    SELECT ticket_id, service, endpoint, sum(requests) AS ep_requests
    FROM base_rows GROUP BY ticket_id, service, endpoint
)
SELECT w.ticket_id AS ticket_id, w.service AS service, w.endpoint AS endpoint,
    w.status_class AS status_class, w.error_code AS error_code, s.status AS status,
    w.errors_24h AS errors_24h, we.ep_requests AS endpoint_requests_24h,
    w.errors_3h AS errors_3h, we.ep_requests_3h AS endpoint_requests_3h,
    coalesce(b.requests, 0) AS errors_base, coalesce(be.ep_requests, 0) AS endpoint_requests_base,
    w.first_minute AS first_minute
FROM win AS w
JOIN win_status AS s ON s.ticket_id = w.ticket_id AND s.service = w.service
    AND s.endpoint = w.endpoint AND s.status_class = w.status_class
    AND isNotDistinctFrom(s.error_code, w.error_code)
JOIN win_ep AS we ON we.ticket_id = w.ticket_id AND we.service = w.service
    AND we.endpoint = w.endpoint
LEFT JOIN base AS b ON b.ticket_id = w.ticket_id AND b.service = w.service
    AND b.endpoint = w.endpoint AND b.status_class = w.status_class
    AND isNotDistinctFrom(b.error_code, w.error_code)
LEFT JOIN base_ep AS be ON be.ticket_id = w.ticket_id AND be.service = w.service
    AND be.endpoint = w.endpoint
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0,
         join_use_nulls = 1
