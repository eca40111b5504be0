-- 429s against the plan's rate limit. Plan as of the investigation time: the account's Stripe
-- customer -> the subscription version valid then -> its price's rate_limit_per_minute (price
-- metadata, else the product's). Usage: requests per minute (all statuses: rejected requests
-- are attempts too) in the 1h and 24h before the investigation time. Monthly quota: requests
-- served (not 429) in the 30 days before the hour of the investigation time, against the
-- plan's monthly_request_quota (a quota spent rejects everything, far below the per-minute
-- limit).
WITH inv AS (
    SELECT ticket_id, org_id, stripe_customer_id, investigated_at AS t
    FROM intermediate.int_ticket_investigations
),
plan AS (
    SELECT ticket_id, subscription_id, price_id, subscription_status
    FROM intermediate.int_ticket_subscriptions
),
inv_hours AS (
    SELECT ticket_id, org_id, t, unnest(generate_series(
        date_trunc('hour', t - INTERVAL 24 HOUR), date_trunc('hour', t), INTERVAL 1 HOUR)) AS hour
    FROM inv WHERE org_id IS NOT NULL
),
mins AS (
    SELECT h.ticket_id, m.minute, m.requests, m.n_429, m.minute >= date_trunc('minute', h.t - INTERVAL 1 HOUR) AS in_1h
    FROM inv_hours AS h
    JOIN intermediate.int_ticket_org_minutes AS m ON m.org_id = h.org_id AND m.hour = h.hour
    WHERE m.minute >= date_trunc('minute', h.t - INTERVAL 24 HOUR) AND m.minute < date_trunc('minute', h.t)
),
usage AS (
    -- running totals (int_ticket_org_hours) at the hours before t and before t - 30 days
    SELECT u.ticket_id,
        max(u.cum_requests - u.cum_429) FILTER (WHERE u.k = 0)
            - coalesce(max(u.cum_requests - u.cum_429) FILTER (WHERE u.k = 30), 0)
            AS served_30d
    FROM (
        SELECT b.ticket_id, b.k, h.cum_requests, h.cum_429
        FROM (SELECT ticket_id, org_id, 0 AS k, date_trunc('hour', t) AS x FROM inv
              UNION ALL
              SELECT ticket_id, org_id, 30, date_trunc('hour', t - INTERVAL 30 DAY) FROM inv)
            AS b
        ASOF LEFT JOIN intermediate.int_ticket_org_hours AS h
            ON h.org_id = b.org_id AND b.x > h.hour
    ) AS u
    GROUP BY u.ticket_id
),
lim AS (
    SELECT p.*, pr.product_id, pr.rate_limit_per_minute, pr.monthly_request_quota,
        prod.product_name AS plan_name
    FROM plan AS p
    LEFT JOIN staging.stg_stripe__prices AS pr ON pr.price_id = p.price_id
    LEFT JOIN staging.stg_stripe__products AS prod ON prod.product_id = pr.product_id
)
SELECT
    i.ticket_id,
    l.subscription_id,
    l.price_id,
    l.product_id,
    l.plan_name,
    l.rate_limit_per_minute,
    l.monthly_request_quota,
    (max(m.requests) FILTER (WHERE m.in_1h))::BIGINT AS peak_rpm_1h,
    max(m.requests)::BIGINT AS peak_rpm_24h,
    -- ties broken by the later minute, so the result never depends on row order
    arg_max(m.minute, {'requests': m.requests, 'minute': m.minute}) AS peak_minute_24h,
    max(m.requests) FILTER (WHERE m.in_1h) / l.rate_limit_per_minute AS peak_vs_limit_1h,
    max(m.requests) / l.rate_limit_per_minute AS peak_vs_limit_24h,
    count(m.minute) FILTER (WHERE m.in_1h) AS active_minutes_1h,
    count(m.minute) FILTER (WHERE m.in_1h AND m.requests >= l.rate_limit_per_minute)
        / nullif(count(m.minute) FILTER (WHERE m.in_1h), 0) AS share_minutes_at_limit_1h,
    count(m.minute) FILTER (WHERE m.requests >= l.rate_limit_per_minute)
        / nullif(count(m.minute), 0) AS share_minutes_at_limit_24h,
    coalesce(sum(m.n_429) FILTER (WHERE m.in_1h), 0)::BIGINT AS n_429_1h,
    coalesce(sum(m.n_429), 0)::BIGINT AS n_429_24h,
    count(m.minute) FILTER (WHERE m.n_429 > 0) AS minutes_with_429_24h,
    count(m.minute) FILTER (WHERE m.n_429 > 0 AND m.requests >= l.rate_limit_per_minute)
        / nullif(count(m.minute) FILTER (WHERE m.n_429 > 0), 0)
        AS share_429_minutes_at_limit_24h,
    any_value(us.served_30d)::BIGINT AS served_requests_30d,
    any_value(us.served_30d) / l.monthly_request_quota AS served_vs_quota_30d
FROM inv AS i
LEFT JOIN lim AS l USING (ticket_id)
LEFT JOIN usage AS us USING (ticket_id)
LEFT JOIN mins AS m USING (ticket_id)
GROUP BY i.ticket_id, l.subscription_id, l.price_id, l.product_id, l.plan_name,
    l.rate_limit_per_minute, l.monthly_request_quota
