-- plan_limit: the customer hits its plan's rate limit. Fires when it got at least 5 429s in
-- the 24h before the investigation time, its 429 rate is anomalous against its own baseline or
-- most 429 minutes were at or over the plan's requests/min, and usage reached the limit.
-- Score: 0.55 + 0.35 x share of 429 minutes at the limit + 0.1 if the 429 rate is anomalous.
-- Without a known plan limit (no Stripe customer) it fires weakly (0.35) on anomalous 429s.
-- Monthly quota spent: at least 20 429s in the 24h, half or more of the customer's requests,
-- and the requests served in the 30 days before reached >= 80% of the plan's
-- monthly_request_quota (Stripe metadata): score 0.8.
WITH f AS (SELECT * FROM features.fct_ticket_features),
fired AS (
    SELECT *,
        coalesce(n_429_24h >= 20 AND n_429_24h >= 0.5 * org_requests_24h
                 AND served_vs_quota_30d >= 0.8, false) AS quota_spent,
        CASE
            WHEN rate_limit_per_minute IS NOT NULL AND n_429_24h >= 5
                 AND coalesce(peak_vs_limit_24h, 0) >= 1
                 AND (org_anomalous_429 OR coalesce(share_429_minutes_at_limit_24h, 0) >= 0.5)
            THEN least(1.0, 0.55 + 0.35 * coalesce(share_429_minutes_at_limit_24h, 0)
                       + 0.1 * org_anomalous_429::INT)
            WHEN coalesce(n_429_24h >= 20 AND n_429_24h >= 0.5 * org_requests_24h
                          AND served_vs_quota_30d >= 0.8, false) THEN 0.8
            WHEN rate_limit_per_minute IS NULL AND org_anomalous_429 THEN 0.35
        END AS score,
        strftime(date_trunc('minute', investigated_at - INTERVAL 24 HOUR), '%Y-%m-%d %H:%M:%S.000') AS q_start,
        strftime(date_trunc('minute', investigated_at), '%Y-%m-%d %H:%M:%S.000') AS q_end
    FROM f
)
SELECT
    ticket_id,
    'plan_limit' AS cause,
    score,
    list_filter([
        CASE WHEN rate_limit_per_minute IS NOT NULL
        THEN {'source': 'stripe_subscription', 'object_id': subscription_id,
              'summary': printf('Plan %s allows %d requests/min; peak %d requests/min in the 24h before the ticket (%.1fx the limit), %.0f%% of minutes with 429s at or over the limit',
                                coalesce(plan_name, product_id), rate_limit_per_minute,
                                peak_rpm_24h, peak_vs_limit_24h,
                                100 * coalesce(share_429_minutes_at_limit_24h, 0)),
              'link': 'https://dashboard.stripe.com/subscriptions/' || subscription_id,
              'reproducing_query': 'GET /v1/subscriptions/' || subscription_id || '?expand[]=items.data.price.product',
              'query_parameters': NULL} END,
        CASE WHEN quota_spent
        THEN {'source': 'stripe_subscription', 'object_id': subscription_id,
              'summary': printf('Plan %s includes %d requests a month; %d requests were served in the 30 days before the ticket (%.0f%% of the quota), and %d of the last 24h''s %d requests were rejected with 429',
                                coalesce(plan_name, product_id), monthly_request_quota,
                                served_requests_30d, 100 * served_vs_quota_30d, n_429_24h,
                                org_requests_24h),
              'link': 'https://dashboard.stripe.com/subscriptions/' || subscription_id,
              'reproducing_query': 'GET /v1/subscriptions/' || subscription_id || '?expand[]=items.data.price.product',
              'query_parameters': NULL} END,
        CASE WHEN quota_spent
        THEN {'source': 'clickhouse', 'object_id': org_id,
              'summary': printf('%d requests served (not 429) in the 30 days before the ticket', served_requests_30d),
              'link': NULL,
              'reproducing_query': 'SELECT count() AS requests, countIf(status != 429) AS served FROM {database:Identifier}.requests WHERE org_id = {org_id:String} AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')}',
              'query_parameters': json_object('database', $clickhouse_database, 'org_id', org_id,
                  'start', strftime(date_trunc('hour', investigated_at - INTERVAL 30 DAY), '%Y-%m-%d %H:%M:%S.000'),
                  'end', strftime(date_trunc('hour', investigated_at), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR} END,
        {'source': 'clickhouse', 'object_id': org_id,
         'summary': printf('%d requests rejected with 429 in the 24h before the ticket (429 rate %.1f%% vs %.1f%% baseline)',
                           n_429_24h, 100 * coalesce(org_rate_429_24h, 0),
                           100 * org_base_rate_429),
         'link': NULL,
         'reproducing_query': 'SELECT toStartOfMinute(ts) AS minute, count() AS requests, countIf(status = 429) AS rejected_429 FROM {database:Identifier}.requests WHERE org_id = {org_id:String} AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')} GROUP BY minute ORDER BY requests DESC LIMIT 20',
         'query_parameters': json_object('database', $clickhouse_database, 'org_id', org_id,
                                         'start', q_start, 'end', q_end)::VARCHAR}
    ], lambda e: e IS NOT NULL) AS evidence
FROM fired
WHERE score IS NOT NULL
