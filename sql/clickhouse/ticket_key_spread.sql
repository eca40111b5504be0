-- One customer's errors or a product's: per ticket and each error key (service, endpoint,
-- status class, error code) the customer hit in the 24h before its investigation time t, how
-- many *other* customers hit the same key in that window and in its last 3h, and how many
-- other customers called the endpoint at all in the 24h. A bug in the product shows on several
-- accounts; a mistake in one customer's integration only on theirs. Computed inside ClickHouse;
-- a few rows per ticket come back (features/ticket_key_spread.sql picks the keys that matter).
-- Status classes as sql/clickhouse/ticket_endpoint_keys.sql (429 is the rate limiter, not a
-- failure); minute buckets as the warehouse's: [t-24h, t) is minute >= toStartOfMinute(t-24h)
-- and < toStartOfMinute(t). Endpoint callers are counted over the whole hours inside the window.
-- Parameters: the ticket list ({ticket_id}, {org_id}, {investigated_at}); [{start}, {end}):
-- the scanned range, covering every ticket's 24h.
WITH
tickets AS (
    SELECT tupleElement(x, 1) AS ticket_id, tupleElement(x, 2) AS org_id,
        tupleElement(x, 3) AS t
    FROM (SELECT arrayJoin(arrayZip({ticket_id:Array(Int64)}, {org_id:Array(String)},
                                    {investigated_at:Array(DateTime64(6, 'UTC'))})) AS x)
    WHERE org_id != ''
),
errors AS (
    -- every customer's failures at the minute grain (failures are a small share of requests)
    SELECT org_id, toString(service) AS service, toString(endpoint) AS endpoint,
        if(status >= 500, '5xx', '4xx') AS status_class,
        lower(toString(ifNull(error_code, ''))) AS error_code,
        toDateTime64(toStartOfMinute(ts), 3, 'UTC') AS minute
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
      AND status >= 400 AND status != 429
    GROUP BY org_id, service, endpoint, status_class, error_code, minute
),
callers AS (
    -- who called which endpoint, per hour
    SELECT DISTINCT org_id, toString(service) AS service, toString(endpoint) AS endpoint,
        toDateTime64(toStartOfHour(ts), 3, 'UTC') AS hour
    FROM {database:Identifier}.requests
    WHERE ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
),
mine AS (
    SELECT k.ticket_id AS ticket_id, k.org_id AS org_id, k.t AS t, e.service AS service,
        e.endpoint AS endpoint, e.status_class AS status_class, e.error_code AS error_code
    FROM tickets AS k
    JOIN errors AS e ON e.org_id = k.org_id
    WHERE e.minute >= toStartOfMinute(k.t - INTERVAL 24 HOUR) AND e.minute < toStartOfMinute(k.t)
    GROUP BY ticket_id, org_id, t, service, endpoint, status_class, error_code
),
shared AS (
    SELECT m.ticket_id AS ticket_id, m.service AS service, m.endpoint AS endpoint,
        m.status_class AS status_class, m.error_code AS error_code,
        uniqExact(e.org_id) AS other_orgs_24h,
        uniqExactIf(e.org_id, e.minute >= toStartOfMinute(m.t - INTERVAL 3 HOUR)) AS other_orgs_3h
    FROM mine AS m
    JOIN errors AS e ON e.service = m.service AND e.endpoint = m.endpoint
        AND e.status_class = m.status_class AND e.error_code = m.error_code
    WHERE e.org_id != m.org_id
      AND e.minute >= toStartOfMinute(m.t - INTERVAL 24 HOUR) AND e.minute < toStartOfMinute(m.t)
    GROUP BY ticket_id, service, endpoint, status_class, error_code
),
endpoint_callers AS (
    SELECT m.ticket_id AS ticket_id, m.service AS service, m.endpoint AS endpoint,
        uniqExact(c.org_id) AS other_callers_24h
    FROM (SELECT DISTINCT ticket_id, org_id, t, service, endpoint FROM mine) AS m
    JOIN callers AS c ON c.service = m.service AND c.endpoint = m.endpoint
    WHERE c.org_id != m.org_id
      AND c.hour >= toStartOfHour(m.t - INTERVAL 23 HOUR) AND c.hour < toStartOfHour(m.t)
    GROUP BY ticket_id, service, endpoint
)
SELECT m.ticket_id AS ticket_id, m.service AS service, m.endpoint AS endpoint,
    m.status_class AS status_class, nullIf(m.error_code, '') AS error_code,
    toInt64(coalesce(s.other_orgs_24h, 0)) AS other_orgs_24h,
    toInt64(coalesce(s.other_orgs_3h, 0)) AS other_orgs_3h,
    toInt64(coalesce(c.other_callers_24h, 0)) AS endpoint_other_callers_24h
FROM mine AS m
LEFT JOIN shared AS s ON s.ticket_id = m.ticket_id AND s.service = m.service
    AND s.endpoint = m.endpoint AND s.status_class = m.status_class
    AND s.error_code = m.error_code
LEFT JOIN endpoint_callers AS c ON c.ticket_id = m.ticket_id AND c.service = m.service
    AND c.endpoint = m.endpoint
SETTINGS output_format_arrow_string_as_string = 1,
         output_format_arrow_low_cardinality_as_dictionary = 0,
         join_use_nulls = 1
