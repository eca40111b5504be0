-- One customer's errors or a product's: per ticket and window (24h, 3h) before its
-- investigation time t, how many *other* customers got the ticket's top error key of that
-- window (service, endpoint, status class, error code) in it, and how many other customers
-- called that endpoint at all in the 24h. A bug in the product shows on several accounts; a
-- mistake in one customer's integration only on theirs. Computed inside ClickHouse; two rows
-- per ticket come back (features/ticket_key_spread.sql).
-- Status classes as sql/clickhouse/ticket_endpoint_keys.sql (429 is the rate limiter, not a
-- failure); minute buckets as the warehouse's: [t-24h, t) is minute >= toStartOfMinute(t-24h)
-- and < toStartOfMinute(t). Callers: the customers with requests to the endpoint in the whole
-- hours inside the 24h, and those with an error from it in the 24h.
-- Parameters, one element per ticket and window: {ticket_id}, {org_id}, {investigated_at},
-- {window_hours} and the key ({service}, {endpoint}, {status_class}, {error_code}, '' for
-- none); [{start}, {end}): the scanned range, covering every ticket's 24h.
WITH
keys AS (
    SELECT tupleElement(x, 1) AS ticket_id, tupleElement(x, 2) AS org_id,
        tupleElement(x, 3) AS t, tupleElement(x, 4) AS window_hours,
        tupleElement(x, 5) AS service, tupleElement(x, 6) AS endpoint,
        tupleElement(x, 7) AS status_class, tupleElement(x, 8) AS error_code
    FROM (SELECT arrayJoin(arrayZip({ticket_id:Array(Int64)}, {org_id:Array(String)},
                                    {investigated_at:Array(DateTime64(6, 'UTC'))},
                                    {window_hours:Array(Int64)}, {service:Array(String)},
                                    {endpoint:Array(String)}, {status_class:Array(String)},
                                    {error_code:Array(String)})) AS x)
    WHERE org_id != ''
),
requests AS (
    -- only the endpoints some ticket's key names
    SELECT org_id, toString(service) AS service, toString(endpoint) AS endpoint, ts, status,
        error_code
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
      AND toString(endpoint) IN (SELECT endpoint FROM keys)
),
errors AS (
    SELECT org_id, service, endpoint, if(status >= 500, '5xx', '4xx') AS status_class,
        lower(toString(ifNull(error_code, ''))) AS error_code,
        toDateTime64(toStartOfMinute(ts), 3, 'UTC') AS minute,
        toDateTime64(toStartOfHour(ts), 3, 'UTC') AS hour
    FROM requests
    WHERE status >= 400 AND status != 429
    GROUP BY org_id, service, endpoint, status_class, error_code, minute, hour
),
callers AS (
    SELECT DISTINCT org_id, service, endpoint, toDateTime64(toStartOfHour(ts), 3, 'UTC') AS hour
    FROM requests
),
key_windows AS (
    -- each window's hours, hour(t - w) to hour(t): a key meets the errors of its window's
    -- hours, not those of the whole scanned range (which grows with the batch: quadratic)
    SELECT ticket_id, window_hours, org_id, service, endpoint, status_class, error_code, t,
        toDateTime64(toStartOfHour(t - toIntervalHour(window_hours)), 3, 'UTC')
            + toIntervalHour(i) AS hour
    FROM keys
    ARRAY JOIN range(toUInt64(window_hours + 1)) AS i
),
key_hours AS (
    -- the whole hours of the 24h, [hour(t - 23h), hour(t)): a key meets its endpoint's callers
    -- of those hours only
    SELECT ticket_id, window_hours, org_id, service, endpoint,
        toDateTime64(toStartOfHour(t - INTERVAL 23 HOUR), 3, 'UTC') + toIntervalHour(i) AS hour
    FROM keys
    ARRAY JOIN range(23) AS i
),
key_edges AS (
    -- the two hours the 24h cuts: of hour(t - 24h) the minutes from t - 24h, of hour(t) those
    -- before t. A customer with an error inside the whole hours called the endpoint then, so
    -- only these two hours' errors can add a caller
    SELECT ticket_id, window_hours, org_id, service, endpoint, t, hour
    FROM keys
    ARRAY JOIN [toDateTime64(toStartOfHour(t - INTERVAL 24 HOUR), 3, 'UTC'),
                toDateTime64(toStartOfHour(t), 3, 'UTC')] AS hour
),
shared AS (
    SELECT k.ticket_id AS ticket_id, k.window_hours AS window_hours,
        uniqExact(e.org_id) AS other_orgs
    FROM key_windows AS k
    JOIN errors AS e ON e.service = k.service AND e.endpoint = k.endpoint
        AND e.status_class = k.status_class AND e.error_code = k.error_code AND e.hour = k.hour
    WHERE e.org_id != k.org_id
      AND e.minute >= toStartOfMinute(k.t - toIntervalHour(k.window_hours))
      AND e.minute < toStartOfMinute(k.t)
    GROUP BY ticket_id, window_hours
),
endpoint_callers AS (
    -- whoever called the endpoint in the whole hours of the 24h, or got any error from it in
    -- the 24h (so every customer counted in `shared` is a caller too)
    SELECT ticket_id, window_hours, uniqExact(org_id) AS other_callers
    FROM (
        SELECT k.ticket_id AS ticket_id, k.window_hours AS window_hours, c.org_id AS org_id
        FROM key_hours AS k
        JOIN callers AS c ON c.service = k.service AND c.endpoint = k.endpoint
            AND c.hour = k.hour
        WHERE c.org_id != k.org_id
        UNION ALL
        SELECT k.ticket_id AS ticket_id, k.window_hours AS window_hours, e.org_id AS org_id
        FROM key_edges AS k
        JOIN errors AS e ON e.service = k.service AND e.endpoint = k.endpoint
            AND e.hour = k.hour
        WHERE e.org_id != k.org_id
          AND e.minute >= toStartOfMinute(k.t - INTERVAL 24 HOUR)
          AND e.minute < toStartOfMinute(k.t)
    )
    GROUP BY ticket_id, window_hours
)
SELECT k.ticket_id AS ticket_id, k.window_hours AS window_hours,
    toInt64(coalesce(s.other_orgs, 0)) AS other_orgs,
    toInt64(coalesce(c.other_callers, 0)) AS endpoint_other_callers_24h
FROM keys AS k
LEFT JOIN shared AS s ON s.ticket_id = k.ticket_id AND s.window_hours = k.window_hours
LEFT JOIN endpoint_callers AS c ON c.ticket_id = k.ticket_id
    AND c.window_hours = k.window_hours
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0,
         join_use_nulls = 1
