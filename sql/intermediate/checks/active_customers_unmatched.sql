-- Check of intermediate.int_account_spine (defs/checks_accounts.py): active customers (a subscription
-- not canceled, or traffic in the 30 days up to $as_of) the spine does not match to both a
-- help-desk organization and a Stripe customer. Grain: one row per unmatched org.
WITH billing_active AS (
    SELECT DISTINCT coalesce(c.org_id, 'stripe:' || c.customer_id) AS org_id,
           'an active subscription' AS why
    FROM staging.stg_stripe__subscriptions AS s
    JOIN staging.stg_stripe__customers AS c USING (customer_id)
    WHERE s.status NOT IN ('canceled', 'incomplete_expired')
),
traffic_active AS (
    SELECT DISTINCT org_id, 'traffic in the last 30 days' AS why
    FROM staging.stg_clickhouse__org_hours
    -- an hour holds a minute in (as_of - 30d, as_of] iff its last minute is after the start
    -- and its first at or before the end (the range is far longer than an hour)
    WHERE last_minute > CAST($as_of AS TIMESTAMP) - INTERVAL 30 DAY
      AND first_minute <= CAST($as_of AS TIMESTAMP)
),
active AS (
    SELECT org_id, string_agg(why, ' and ' ORDER BY why) AS why
    FROM (SELECT * FROM billing_active UNION ALL SELECT * FROM traffic_active)
    GROUP BY org_id
)
SELECT a.org_id, a.why,
       CASE WHEN s.org_id IS NULL THEN 'not in the account spine'
            ELSE concat_ws(' and ',
                CASE WHEN s.zendesk_organization_id IS NULL THEN 'no help-desk organization' END,
                CASE WHEN s.stripe_customer_id IS NULL THEN 'no Stripe customer' END)
       END AS problem
FROM active AS a
LEFT JOIN intermediate.int_account_spine AS s USING (org_id)
WHERE s.org_id IS NULL OR s.zendesk_organization_id IS NULL OR s.stripe_customer_id IS NULL
ORDER BY a.org_id
