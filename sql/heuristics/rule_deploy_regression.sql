-- deploy_regression: the customer's errors or latency began shortly after a production deploy
-- of a service it was failing on, and that service stepped up platform-wide right after it.
-- Fires when a deploy candidate exists (features.ticket_deploys), its service served the
-- failing requests or the anomaly is latency, and the step-change score (after/before ratio of
-- the service's error rate or p95) is >= 2. Score: 0.55, +0.2 if the step is >= 4, +0.15 if
-- the onset came within 60 minutes of the deploy, +0.05 if the service served the failing
-- endpoints; at most 0.95.
WITH f AS (SELECT * FROM features.fct_ticket_features),
fired AS (
    SELECT *,
        least(0.95, 0.55 + 0.2 * (step_change_score >= 4)::INT
              + 0.15 * (minutes_deploy_to_onset <= 60)::INT
              + 0.05 * serves_failing_endpoints::INT) AS score,
        coalesce(deploy_repo, '') AS repo
    FROM f
    WHERE has_deploy_candidate
      AND (serves_failing_endpoints OR org_anomalous_latency)
      AND step_change_score >= 2
)
SELECT
    ticket_id,
    'deploy_regression' AS cause,
    score,
    [
        {'source': 'github_deployment', 'object_id': deployment_id::VARCHAR,
         'summary': printf('Deploy %d of %s (%s) went live %s, %.0f min before this customer''s %s began; %s error rate %.1f%% -> %.1f%%, p95 %.0f -> %.0f ms in the hour after%s',
                           deployment_id, deploy_service, left(deploy_sha, 7),
                           strftime(deployed_at, '%Y-%m-%d %H:%M'), minutes_deploy_to_onset,
                           CASE WHEN error_onset_at IS NOT NULL THEN 'errors' ELSE 'slowdown' END,
                           deploy_service, 100 * coalesce(service_error_rate_before, 0),
                           100 * coalesce(service_error_rate_after, 0),
                           coalesce(service_p95_ms_before, 0), coalesce(service_p95_ms_after, 0),
                           CASE WHEN later_deploy_of_service
                                THEN printf('; later deploy %d of %s at %s', later_deployment_id,
                                            deploy_service, strftime(later_deployed_at, '%H:%M'))
                                ELSE '' END),
         'link': CASE WHEN repo <> '' THEN 'https://github.com/' || repo || '/commit/' || deploy_sha END,
         'reproducing_query': CASE WHEN repo <> '' THEN 'GET /repos/' || repo || '/deployments/' || deployment_id::VARCHAR || '/statuses'
                                   ELSE deploy_api_url END,
         'query_parameters': NULL},
        {'source': 'clickhouse', 'object_id': deploy_service,
         'summary': printf('%s, all customers: error rate %.1f%% in the 6h before the deploy vs %.1f%% in the hour after (x%.1f); p95 x%.1f',
                           deploy_service, 100 * coalesce(service_error_rate_before, 0),
                           100 * coalesce(service_error_rate_after, 0), error_step_ratio,
                           coalesce(latency_step_ratio, 0)),
         'link': NULL,
         'reproducing_query': 'SELECT ts >= {deployed_at:DateTime64(3, ''UTC'')} AS after_deploy, count() AS requests, countIf(status >= 400 AND status != 429) / count() AS error_rate, quantile(0.95)(latency_ms) AS p95_ms FROM {database:Identifier}.requests WHERE service = {service:String} AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')} GROUP BY after_deploy ORDER BY after_deploy',
         'query_parameters': json_object('database', $clickhouse_database, 'service', deploy_service,
             'deployed_at', strftime(date_trunc('minute', deployed_at), '%Y-%m-%d %H:%M:%S.000'),
             'start', strftime(date_trunc('minute', deployed_at - INTERVAL 6 HOUR), '%Y-%m-%d %H:%M:%S.000'),
             'end', strftime(date_trunc('minute', least(deployed_at + INTERVAL 1 HOUR, investigated_at)), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR}
    ] AS evidence
FROM fired
