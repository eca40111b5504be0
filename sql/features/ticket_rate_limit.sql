-- 429s against the plan's rate limit (features.ticket_plan: the plan as of the investigation
-- time). Usage: requests per minute (all statuses: rejected requests are attempts too) in the
-- 1h and 24h before the investigation time, computed per ticket in ClickHouse
-- (sql/clickhouse/ticket_rate_minutes.sql). Monthly quota: requests served (not 429) in the
-- 30 days of whole hours before the hour of the investigation time
-- (staging.stg_clickhouse__org_hours), against the plan's monthly_request_quota (a quota spent
-- rejects everything, far below the per-minute limit); NULL when the customer had no traffic
-- at all before that hour.
WITH inv AS (
    SELECT ticket_id, org_id, investigated_at AS t
    FROM intermediate.int_ticket_investigations
),
usage AS (
    SELECT i.ticket_id,
        CASE WHEN count(h.hour) > 0 THEN coalesce(
            sum(h.requests - h.n_429) FILTER (WHERE h.hour >= date_trunc('hour', i.t - INTERVAL 30 DAY)),
            0) END AS served_30d
    FROM inv AS i
    JOIN staging.stg_clickhouse__org_hours AS h
        ON h.org_id = i.org_id AND h.hour < date_trunc('hour', i.t)
    GROUP BY i.ticket_id
)
SELECT
    i.ticket_id,
    l.subscription_id,
    l.price_id,
    l.product_id,
    l.plan_name,
    l.rate_limit_per_minute,
    l.monthly_request_quota,
    m.peak_rpm_1h::BIGINT AS peak_rpm_1h,
    m.peak_rpm_24h::BIGINT AS peak_rpm_24h,
    m.peak_minute_24h,
    m.peak_rpm_1h / l.rate_limit_per_minute AS peak_vs_limit_1h,
    m.peak_rpm_24h / l.rate_limit_per_minute AS peak_vs_limit_24h,
    coalesce(m.active_minutes_1h, 0) AS active_minutes_1h,
    m.minutes_at_limit_1h / nullif(m.active_minutes_1h, 0) AS share_minutes_at_limit_1h,
    m.minutes_at_limit_24h / nullif(m.active_minutes_24h, 0) AS share_minutes_at_limit_24h,
    coalesce(m.n_429_1h, 0)::BIGINT AS n_429_1h,
    coalesce(m.n_429_24h, 0)::BIGINT AS n_429_24h,
    coalesce(m.minutes_with_429_24h, 0) AS minutes_with_429_24h,
    m.minutes_429_at_limit_24h / nullif(m.minutes_with_429_24h, 0)
        AS share_429_minutes_at_limit_24h,
    u.served_30d::BIGINT AS served_requests_30d,
    u.served_30d / l.monthly_request_quota AS served_vs_quota_30d
FROM inv AS i
LEFT JOIN features.ticket_plan AS l USING (ticket_id)
LEFT JOIN usage AS u USING (ticket_id)
LEFT JOIN logs.ticket_rate_minutes AS m USING (ticket_id)
