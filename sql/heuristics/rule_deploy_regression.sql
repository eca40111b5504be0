-- deploy_regression: the customer's errors or latency began shortly after a production deploy
-- of a service it was failing on, and that service stepped up platform-wide right after it.
-- Fires when a deploy candidate exists (features.ticket_deploys), its service served the
-- failing requests or the anomaly is latency, and the step-change score (after/before ratio of
-- the service's error rate or p95) is >= 2. Score: 0.55, +0.2 if the step is >= 4, +0.15 if
-- the onset came within 60 minutes of the deploy, +0.05 if the service served the failing
-- endpoints; at most 0.95.
-- Or, from the service's side (features.ticket_service_onset): the service carrying the
-- customer's errors stepped up platform-wide (error rate in the last hour >= 2x its 7-day
-- baseline) and a production deploy of it went live at most 30 minutes before that change
-- point (or up to 5 minutes after, the minute buckets' resolution). This catches customers too
-- quiet to be anomalous on their own, and outranks the many-customers-at-once reading of the
-- same change (a deploy explains it). Score: 0.8, +0.1 if the step is >= 4x, +0.05 if the
-- deploy came within 10 minutes; a ticket both paths fire on takes the higher score.
WITH f AS (
    SELECT *,
        coalesce(onset_service_error_ratio >= 2
                 AND minutes_deploy_to_service_onset BETWEEN -5 AND 30, false) AS service_stepped,
        least(0.95, 0.8 + 0.1 * (onset_service_error_ratio >= 4)::INT
              + 0.05 * (minutes_deploy_to_service_onset <= 10)::INT) AS service_score
    FROM features.fct_ticket_features
),
fired AS (
    SELECT *,
        greatest(
            least(0.95, 0.55 + 0.2 * (step_change_score >= 4)::INT
                  + 0.15 * (minutes_deploy_to_onset <= 60)::INT
                  + 0.05 * serves_failing_endpoints::INT),
            CASE WHEN service_stepped THEN service_score END) AS score,
        coalesce(deploy_repo, '') AS repo
    FROM f
    WHERE has_deploy_candidate
      AND (serves_failing_endpoints OR org_anomalous_latency)
      AND step_change_score >= 2
),
readings AS (
    -- one row per ticket fired on: the deploy, what it tells, and the service's traffic
    -- figures for it (from the customer's onset, or from the service's own step)
    SELECT ticket_id, score, deployment_id, deploy_sha AS sha, deploy_api_url AS api_url, repo,
        printf('Deploy %d of %s (%s) went live %s, %.0f min before this customer''s %s began; %s error rate %.1f%% -> %.1f%%, p95 %.0f -> %.0f ms in the hour after%s',
               deployment_id, deploy_service, left(deploy_sha, 7),
               strftime(deployed_at, '%Y-%m-%d %H:%M'), minutes_deploy_to_onset,
               CASE WHEN error_onset_at IS NOT NULL THEN 'errors' ELSE 'slowdown' END,
               deploy_service, 100 * coalesce(service_error_rate_before, 0),
               100 * coalesce(service_error_rate_after, 0),
               coalesce(service_p95_ms_before, 0), coalesce(service_p95_ms_after, 0),
               CASE WHEN later_deploy_of_service
                    THEN printf('; later deploy %d of %s at %s', later_deployment_id,
                                deploy_service, strftime(later_deployed_at, '%H:%M'))
                    ELSE '' END) AS deploy_summary,
        deploy_service AS service,
        printf('%s, all customers: error rate %.1f%% in the 6h before the deploy vs %.1f%% in the hour after (x%.1f); p95 x%.1f',
               deploy_service, 100 * coalesce(service_error_rate_before, 0),
               100 * coalesce(service_error_rate_after, 0), error_step_ratio,
               coalesce(latency_step_ratio, 0)) AS traffic_summary,
        'SELECT ts >= {deployed_at:DateTime64(3, ''UTC'')} AS after_deploy, count() AS requests, countIf(status >= 400 AND status != 429) / count() AS error_rate, quantile(0.95)(latency_ms) AS p95_ms FROM {database:Identifier}.requests WHERE service = {service:String} AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')} GROUP BY after_deploy ORDER BY after_deploy' AS traffic_query,
        json_object('database', $clickhouse_database, 'service', deploy_service,
            'deployed_at', strftime(date_trunc('minute', deployed_at), '%Y-%m-%d %H:%M:%S.000'),
            'start', strftime(date_trunc('minute', deployed_at - INTERVAL 6 HOUR), '%Y-%m-%d %H:%M:%S.000'),
            'end', strftime(date_trunc('minute', least(deployed_at + INTERVAL 1 HOUR, investigated_at)), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR AS traffic_parameters
    FROM fired
    UNION ALL
    SELECT ticket_id, service_score, service_onset_deployment_id, service_onset_deploy_sha,
        service_onset_deploy_api_url, repo,
        printf('Deploy %d of %s (%s) went live %s, %.0f min before %s''s errors stepped up for all customers at %s; this customer''s errors are on %s',
               service_onset_deployment_id, onset_service,
               left(service_onset_deploy_sha, 7),
               strftime(service_onset_deployed_at, '%Y-%m-%d %H:%M'),
               minutes_deploy_to_service_onset, onset_service,
               strftime(service_onset_at, '%H:%M'), onset_service),
        onset_service,
        printf('%s, all customers: error rate %.2f%% over the 7-day baseline vs %.2f%% in the hour before the ticket (x%.1f); %d of %d other customers of it had errors in that hour',
               onset_service, 100 * onset_service_base_error_rate,
               100 * onset_service_error_rate_1h, onset_service_error_ratio,
               onset_service_other_orgs_with_errors_1h, onset_service_other_orgs_1h),
        'SELECT toStartOfFiveMinutes(ts) AS at, count() AS requests, countIf(status >= 400 AND status != 429) / count() AS error_rate, uniqExactIf(org_id, status >= 400 AND status != 429) AS customers_with_errors FROM {database:Identifier}.requests WHERE service = {service:String} AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')} GROUP BY at ORDER BY at',
        json_object('database', $clickhouse_database, 'service', onset_service,
            'start', strftime(date_trunc('minute', service_onset_deployed_at - INTERVAL 1 HOUR), '%Y-%m-%d %H:%M:%S.000'),
            'end', strftime(date_trunc('minute', investigated_at), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR
    FROM (
        SELECT *, coalesce(regexp_extract(service_onset_deploy_api_url, 'repos/([^/]+/[^/]+)/', 1), '')
            AS repo
        FROM f
    ) AS s
    WHERE service_stepped
      AND ticket_id NOT IN (SELECT ticket_id FROM fired)
)
SELECT
    ticket_id,
    'deploy_regression' AS cause,
    score,
    [
        {'source': 'github_deployment', 'object_id': deployment_id::VARCHAR,
         'summary': deploy_summary,
         'link': CASE WHEN repo <> '' THEN 'https://github.com/' || repo || '/commit/' || sha END,
         'reproducing_query': CASE WHEN repo <> '' THEN 'GET /repos/' || repo || '/deployments/' || deployment_id::VARCHAR || '/statuses'
                                   ELSE api_url END,
         'query_parameters': NULL},
        {'source': 'clickhouse', 'object_id': service, 'summary': traffic_summary, 'link': NULL,
         'reproducing_query': traffic_query, 'query_parameters': traffic_parameters}
    ] AS evidence
FROM readings
