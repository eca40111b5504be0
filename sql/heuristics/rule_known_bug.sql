-- known_bug: an issue open in Linear at the investigation time names what the customer is
-- hitting (features.ticket_linear_matches, best match): the error code *and* the endpoint of
-- errors the customer got in the last 3h (a key match), and those keys are at least a quarter
-- of the customer's errors in the 3h or the ticket's text names the code or the endpoint.
-- Score: 0.5 + 0.4 x match score, less 0.15 when the issue was filed after the anomaly began
-- and a deploy explains the onset (then it tracks the regression).
WITH m AS (
    SELECT * FROM features.ticket_linear_matches WHERE match_rank = 1
),
f AS (SELECT * FROM features.fct_ticket_features)
SELECT
    f.ticket_id,
    'known_bug' AS cause,
    round(0.5 + 0.4 * m.match_score
          - CASE WHEN f.has_deploy_candidate AND NOT coalesce(m.created_before_onset, true)
                 THEN 0.15 ELSE 0 END, 6) AS score,
    list_filter([
        {'source': 'linear', 'object_id': m.identifier,
         'summary': printf('%s "%s", open since %s, names %s: %d of this customer''s errors in the last 3h (%.0f%% of them) (match score %.2f, text similarity %.2f)',
                           m.identifier, m.title, strftime(m.created_at, '%Y-%m-%d'),
                           array_to_string(list_distinct(list_transform(m.matched_keys,
                               lambda k: k.code || ' on ' || k.endpoint)), ', '),
                           m.key_errors_3h, 100 * m.key_share_3h,
                           m.match_score, coalesce(m.text_jaccard, 0)),
         'link': m.url,
         'reproducing_query': 'POST https://api.linear.app/graphql {issue(id: "' || m.identifier || '") {identifier title state {name type} completedAt canceledAt url}}',
         'query_parameters': NULL},
        CASE WHEN coalesce(f.top_errors_24h, 0) > 0 THEN
        {'source': 'clickhouse', 'object_id': f.org_id,
         'summary': printf('%d %s responses%s on %s in the 24h before the ticket: %.1f%% of that endpoint''s requests vs %.1f%% baseline',
                           f.top_errors_24h, coalesce(f.top_error_status::VARCHAR, f.top_error_status_class),
                           coalesce(' (' || f.top_error_code || ')', ''), f.top_error_endpoint,
                           100 * f.top_error_rate_24h, 100 * least(f.top_error_base_rate, 1)),
         'link': NULL,
         'reproducing_query': 'SELECT status, error_code, count() AS requests FROM {database:Identifier}.requests WHERE org_id = {org_id:String} AND endpoint = {endpoint:String} AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')} GROUP BY status, error_code ORDER BY requests DESC',
         'query_parameters': json_object('database', $clickhouse_database, 'org_id', f.org_id,
             'endpoint', f.top_error_endpoint,
             'start', strftime(date_trunc('minute', f.investigated_at - INTERVAL 24 HOUR), '%Y-%m-%d %H:%M:%S.000'),
             'end', strftime(date_trunc('minute', f.investigated_at), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR}
        END,
        -- a bug in the product shows on other customers' requests too
        CASE WHEN coalesce(f.top_errors_24h, 0) > 0 THEN
        {'source': 'clickhouse', 'object_id': f.org_id,
         'summary': CASE WHEN f.top_error_endpoint_other_callers_24h = 0
             THEN printf('No other customer called %s in the same 24h', f.top_error_endpoint)
             ELSE printf('%d of the %d other customers calling %s got %s%s on it in the same 24h',
                         f.top_error_other_orgs_24h,
                         f.top_error_endpoint_other_callers_24h,
                         f.top_error_endpoint, f.top_error_status_class,
                         coalesce(' ' || f.top_error_code, '')) END,
         'link': NULL,
         'reproducing_query': 'SELECT uniqExact(org_id) AS other_customers FROM {database:Identifier}.requests WHERE org_id != {org_id:String} AND service = {service:String} AND endpoint = {endpoint:String} AND lower(ifNull(error_code, '''')) = {error_code:String} AND if(status >= 500, ''5xx'', ''4xx'') = {status_class:String} AND status >= 400 AND status != 429 AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')}',
         'query_parameters': json_object('database', $clickhouse_database, 'org_id', f.org_id,
             'service', f.top_error_service, 'endpoint', f.top_error_endpoint,
             'error_code', coalesce(f.top_error_code, ''),
             'status_class', f.top_error_status_class,
             'start', strftime(date_trunc('minute', f.investigated_at - INTERVAL 24 HOUR), '%Y-%m-%d %H:%M:%S.000'),
             'end', strftime(date_trunc('minute', f.investigated_at), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR}
        END
    ], lambda e: e IS NOT NULL) AS evidence
FROM f
JOIN m USING (ticket_id)
WHERE m.is_open_at_t
  AND length(m.matched_keys) > 0
  AND (m.key_share_3h >= 0.25
       OR length(list_intersect(m.shared_error_codes, f.text_error_codes)) > 0
       OR length(list_intersect(m.shared_endpoints, f.text_endpoints)) > 0)
