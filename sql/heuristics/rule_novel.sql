-- novel: the customer's errors or latency are anomalous and no rule explains them.
-- Score 0.5. Evidence: the anomaly itself.
SELECT
    f.ticket_id,
    'novel' AS cause,
    0.5 AS score,
    [
        {'source': 'clickhouse', 'object_id': f.org_id,
         'summary': printf('Unexplained anomaly: 5xx %.1f%%, 4xx %.1f%%, p95 %.0f ms in the hour before the ticket vs %.1f%%, %.1f%%, %.0f ms baseline; no matching bug, deploy, incident, limit or billing problem',
                           100 * coalesce(f.org_rate_5xx_1h, 0), 100 * coalesce(f.org_rate_4xx_1h, 0),
                           coalesce(f.org_p95_ms_1h, 0), 100 * f.org_base_rate_5xx,
                           100 * f.org_base_rate_4xx, coalesce(f.org_p95_ms_base, 0)),
         'link': NULL,
         'reproducing_query': 'SELECT toStartOfHour(ts) AS hour, count() AS requests, countIf(status >= 500) / count() AS rate_5xx, countIf(status >= 400 AND status < 500 AND status != 429) / count() AS rate_4xx, quantile(0.95)(latency_ms) AS p95_ms FROM {database:Identifier}.requests WHERE org_id = {org_id:String} AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')} GROUP BY hour ORDER BY hour',
         'query_parameters': json_object('database', $clickhouse_database, 'org_id', f.org_id,
             'start', strftime(date_trunc('minute', f.investigated_at - INTERVAL 192 HOUR), '%Y-%m-%d %H:%M:%S.000'),
             'end', strftime(date_trunc('minute', f.investigated_at), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR}
    ] AS evidence
FROM features.fct_ticket_features AS f
WHERE f.org_anomalous_errors_or_latency
  AND f.ticket_id NOT IN (SELECT ticket_id FROM heuristics.explained_tickets)
