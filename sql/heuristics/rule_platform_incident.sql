-- platform_incident: this customer is anomalous and so are many others at the same time.
-- Fires when the customer's errors or latency are anomalous and at least a quarter of the
-- other customers with traffic in the hour before (and at least 2 of them) are too, unless a
-- production deploy of the failing service went live in the 30 min before the service changed
-- (rule_deploy_regression's reading).
-- Score: 0.4 + the share of other anomalous customers, at most 0.85 (a deploy that explains
-- it scores higher in rule_deploy_regression).
-- Or, with customers too quiet to be anomalous one by one (features.ticket_service_onset): the
-- other customers of the service carrying this customer's errors, pooled, had an error rate
-- >= 5x the service's 7-day baseline in the hour before the ticket, at least 2 of them had
-- errors, and no deploy of the service went live in the 30 minutes before its change point.
-- Score then: 0.6, +0.1 if this customer is anomalous itself, +0.1 if >= 3 others had errors
-- (a Linear issue naming the errors scores higher in rule_known_bug).
WITH f AS (
    SELECT *,
        coalesce(org_anomalous_errors_or_latency AND other_anomalous_orgs_1h >= 2
                 AND other_anomalous_share_1h >= 0.25, false)
            AND NOT coalesce(onset_service_error_ratio >= 2
                             AND minutes_deploy_to_service_onset BETWEEN -5 AND 30, false)
            AS many_anomalous,
        coalesce(onset_service_other_error_ratio >= 5
                 AND onset_service_other_orgs_with_errors_1h >= 2
                 AND NOT coalesce(minutes_deploy_to_service_onset <= 30, false), false)
            AS service_wide
    FROM features.fct_ticket_features
)
SELECT
    ticket_id,
    'platform_incident' AS cause,
    CASE WHEN many_anomalous THEN least(0.85, 0.4 + other_anomalous_share_1h)
         ELSE 0.6 + 0.1 * coalesce(org_anomalous_errors_or_latency, false)::INT
              + 0.1 * (onset_service_other_orgs_with_errors_1h >= 3)::INT END AS score,
    list_filter([
        {'source': 'clickhouse', 'object_id': 'platform',
         'summary': printf('%d of %d other active customers (%.0f%%) had anomalous errors or latency in the hour before the ticket; platform 5xx rate %.1f%% vs %.1f%% baseline, p95 x%.1f',
                           other_anomalous_orgs_1h, other_active_orgs_1h,
                           100 * other_anomalous_share_1h, 100 * coalesce(platform_rate_5xx_1h, 0),
                           100 * coalesce(platform_base_rate_5xx, 0),
                           coalesce(platform_p95_ratio_1h, 0)),
         'link': NULL,
         'reproducing_query': 'SELECT org_id, count() AS requests, countIf(status >= 400 AND status != 429) / count() AS error_rate, quantile(0.95)(latency_ms) AS p95_ms FROM {database:Identifier}.requests WHERE ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')} GROUP BY org_id ORDER BY error_rate DESC',
         'query_parameters': json_object('database', $clickhouse_database,
             'start', strftime(date_trunc('minute', investigated_at - INTERVAL 1 HOUR), '%Y-%m-%d %H:%M:%S.000'),
             'end', strftime(date_trunc('minute', investigated_at), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR},
        {'source': 'clickhouse', 'object_id': org_id,
         'summary': printf('This customer: 5xx rate %.1f%%, 4xx rate %.1f%%, p95 %.0f ms in the hour before the ticket vs %.1f%%, %.1f%%, %.0f ms baseline',
                           100 * coalesce(org_rate_5xx_1h, 0), 100 * coalesce(org_rate_4xx_1h, 0),
                           coalesce(org_p95_ms_1h, 0), 100 * org_base_rate_5xx,
                           100 * org_base_rate_4xx, coalesce(org_p95_ms_base, 0)),
         'link': NULL,
         'reproducing_query': 'SELECT count() AS requests, countIf(status >= 500) / count() AS rate_5xx, countIf(status >= 400 AND status < 500 AND status != 429) / count() AS rate_4xx, quantile(0.95)(latency_ms) AS p95_ms FROM {database:Identifier}.requests WHERE org_id = {org_id:String} AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')}',
         'query_parameters': json_object('database', $clickhouse_database, 'org_id', org_id,
             'start', strftime(date_trunc('minute', investigated_at - INTERVAL 1 HOUR), '%Y-%m-%d %H:%M:%S.000'),
             'end', strftime(date_trunc('minute', investigated_at), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR},
        CASE WHEN service_wide THEN
        {'source': 'clickhouse', 'object_id': onset_service,
         'summary': printf('%s, the service of this customer''s errors: %d of %d other customers had errors on it in the hour before the ticket, their error rate %.1f%% vs %.2f%% 7-day baseline (x%.0f); no deploy of it in the 30 min before the change at %s',
                           onset_service, onset_service_other_orgs_with_errors_1h,
                           onset_service_other_orgs_1h,
                           100 * onset_service_other_errors_1h / greatest(onset_service_other_requests_1h, 1),
                           100 * onset_service_base_error_rate, onset_service_other_error_ratio,
                           coalesce(strftime(service_onset_at, '%H:%M'), '?')),
         'link': NULL,
         'reproducing_query': 'SELECT org_id, count() AS requests, countIf(status >= 400 AND status != 429) AS errors FROM {database:Identifier}.requests WHERE service = {service:String} AND org_id != {org_id:String} AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')} GROUP BY org_id ORDER BY errors DESC',
         'query_parameters': json_object('database', $clickhouse_database, 'service', onset_service,
             'org_id', org_id,
             'start', strftime(date_trunc('minute', investigated_at - INTERVAL 1 HOUR), '%Y-%m-%d %H:%M:%S.000'),
             'end', strftime(date_trunc('minute', investigated_at), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR}
        END
    ], lambda e: e IS NOT NULL) AS evidence
FROM f
WHERE many_anomalous OR service_wide
