-- Which endpoint, service and error code carry this customer's errors in the 24h before the
-- investigation time, and how far above their own baseline: one row per ticket and error key
-- (service, endpoint, status class, error code) with errors in the window, ranked by excess.
-- excess = errors in the window - the endpoint's window requests x the key's baseline rate
-- (baseline: the 7 whole days before the day the 24h window starts in). The same over the last
-- 3h (errors_3h, excess_3h): what the customer is seeing as they write, undiluted by the day.
WITH inv AS (
    SELECT ticket_id, org_id, investigated_at AS t FROM intermediate.int_ticket_investigations
    WHERE org_id IS NOT NULL
),
inv_hours AS (
    SELECT ticket_id, org_id, t, unnest(generate_series(
        date_trunc('hour', t - INTERVAL 24 HOUR), date_trunc('hour', t), INTERVAL 1 HOUR)) AS hour
    FROM inv
),
win AS (
    SELECT h.ticket_id, r.service, r.endpoint,
        CASE WHEN r.status >= 500 THEN '5xx' WHEN r.status >= 400 AND r.status <> 429 THEN '4xx' END
            AS status_class,
        lower(r.error_code) AS error_code,
        sum(r.requests) AS requests,
        coalesce(sum(r.requests) FILTER (WHERE r.minute >= date_trunc('minute', h.t - INTERVAL 3 HOUR)),
            0) AS requests_3h,
        min(r.minute) AS first_minute,
        mode(r.status) AS status
    FROM inv_hours AS h
    JOIN staging.stg_clickhouse__request_minutes AS r
        ON r.org_id = h.org_id AND date_trunc('hour', r.minute) = h.hour
    WHERE r.minute >= date_trunc('minute', h.t - INTERVAL 24 HOUR) AND r.minute < date_trunc('minute', h.t)
    GROUP BY ALL
),
win_ep AS (
    SELECT ticket_id, service, endpoint, sum(requests) AS ep_requests,
        sum(requests_3h) AS ep_requests_3h
    FROM win GROUP BY ALL
),
base AS (
    SELECT i.ticket_id, d.service, d.endpoint, d.status_class, d.error_code,
        sum(d.requests) AS requests
    FROM inv AS i
    JOIN intermediate.int_ticket_org_endpoint_days AS d
        ON d.org_id = i.org_id
       AND d.day >= date_trunc('day', i.t - INTERVAL 24 HOUR) - INTERVAL 7 DAY
       AND d.day < date_trunc('day', i.t - INTERVAL 24 HOUR)
    GROUP BY ALL
),
base_ep AS (
    SELECT ticket_id, service, endpoint, sum(requests) AS ep_requests
    FROM base GROUP BY ALL
),
keyed AS (
    SELECT w.ticket_id, w.service, w.endpoint, w.status_class, w.error_code, w.status,
        w.requests AS errors_24h,
        we.ep_requests AS endpoint_requests_24h,
        w.requests / we.ep_requests AS error_rate_24h,
        w.requests_3h AS errors_3h,
        we.ep_requests_3h AS endpoint_requests_3h,
        coalesce(b.requests, 0) AS errors_base,
        coalesce(be.ep_requests, 0) AS endpoint_requests_base,
        (coalesce(b.requests, 0) + 0.5) / (coalesce(be.ep_requests, 0) + 1) AS base_rate,
        w.first_minute
    FROM win AS w
    JOIN win_ep AS we USING (ticket_id, service, endpoint)
    LEFT JOIN base AS b
        ON b.ticket_id = w.ticket_id AND b.service = w.service AND b.endpoint = w.endpoint
       AND b.status_class = w.status_class AND b.error_code IS NOT DISTINCT FROM w.error_code
    LEFT JOIN base_ep AS be
        ON be.ticket_id = w.ticket_id AND be.service = w.service AND be.endpoint = w.endpoint
    WHERE w.status_class IS NOT NULL
)
SELECT *,
    errors_24h - endpoint_requests_24h * least(base_rate, 1) AS excess,
    errors_3h - endpoint_requests_3h * least(base_rate, 1) AS excess_3h,
    row_number() OVER (PARTITION BY ticket_id ORDER BY
        errors_24h - endpoint_requests_24h * least(base_rate, 1) DESC, errors_24h DESC,
        service, endpoint, error_code) AS excess_rank
FROM keyed
