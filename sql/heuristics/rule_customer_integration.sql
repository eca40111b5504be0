-- customer_integration: client errors (4xx other than 429) for this customer alone: its 4xx
-- rate is anomalous against its own baseline, or at least 3x the platform's 4xx rate over the
-- 24h before (with at least 5 such responses), its top excess error is a 4xx, and fewer than
-- a quarter of the other customers are anomalous at the same time.
-- Score: 0.6, +0.1 when anomalous against its own baseline.
WITH f AS (SELECT * FROM features.fct_ticket_features)
SELECT
    ticket_id,
    'customer_integration' AS cause,
    0.6 + 0.1 * org_anomalous_4xx::INT AS score,
    list_filter([
        {'source': 'clickhouse', 'object_id': org_id,
         'summary': printf('4xx rate %.1f%% in the 24h before the ticket vs %.1f%% baseline and %.1f%% platform-wide; mostly %s%s on %s',
                           100 * coalesce(org_rate_4xx_24h, 0), 100 * org_base_rate_4xx,
                           100 * coalesce(platform_rate_4xx_24h, 0),
                           coalesce(top_error_status::VARCHAR, '4xx'),
                           coalesce(' ' || top_error_code, ''), coalesce(top_error_endpoint, '?')),
         'link': NULL,
         'reproducing_query': 'SELECT status, error_code, endpoint, count() AS requests FROM {database:Identifier}.requests WHERE org_id = {org_id:String} AND status >= 400 AND status < 500 AND status != 429 AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')} GROUP BY status, error_code, endpoint ORDER BY requests DESC LIMIT 20',
         'query_parameters': json_object('database', $clickhouse_database, 'org_id', org_id,
             'start', strftime(date_trunc('minute', investigated_at - INTERVAL 24 HOUR), '%Y-%m-%d %H:%M:%S.000'),
             'end', strftime(date_trunc('minute', investigated_at), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR},
        -- whether other customers get the same error: a bug in the product would show there
        CASE WHEN top_error_endpoint IS NOT NULL THEN
        {'source': 'clickhouse', 'object_id': org_id,
         'summary': CASE WHEN top_error_endpoint_other_callers_24h = 0
             THEN printf('No other customer called %s in the same 24h', top_error_endpoint)
             ELSE printf('%d of the %d other customers calling %s got %s%s on it in the same 24h',
                         top_error_other_orgs_24h,
                         top_error_endpoint_other_callers_24h,
                         top_error_endpoint, top_error_status_class,
                         coalesce(' ' || top_error_code, '')) END,
         'link': NULL,
         'reproducing_query': 'SELECT uniqExact(org_id) AS other_customers FROM {database:Identifier}.requests WHERE org_id != {org_id:String} AND service = {service:String} AND endpoint = {endpoint:String} AND lower(ifNull(error_code, '''')) = {error_code:String} AND if(status >= 500, ''5xx'', ''4xx'') = {status_class:String} AND status >= 400 AND status != 429 AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')}',
         'query_parameters': json_object('database', $clickhouse_database, 'org_id', org_id,
             'service', top_error_service, 'endpoint', top_error_endpoint,
             'error_code', coalesce(top_error_code, ''),
             'status_class', top_error_status_class,
             'start', strftime(date_trunc('minute', investigated_at - INTERVAL 24 HOUR), '%Y-%m-%d %H:%M:%S.000'),
             'end', strftime(date_trunc('minute', investigated_at), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR}
        END
    ], lambda e: e IS NOT NULL) AS evidence
FROM f
WHERE (org_anomalous_4xx
       OR (coalesce(org_vs_platform_4xx_24h, 0) >= 3 AND coalesce(org_n_4xx_24h, 0) >= 5))
  AND coalesce(top_error_status_class, '4xx') = '4xx'
  AND coalesce(other_anomalous_share_1h, 0) < 0.25
