-- how_to: nothing is wrong in the data: no anomaly in the customer's errors, 429s or latency,
-- and no other rule fired. Score: 0.5, +0.1 if the ticket asks a question, +0.1 if it names
-- no error code or endpoint of the data.
SELECT
    f.ticket_id,
    'how_to' AS cause,
    0.5 + 0.1 * f.text_has_question::INT + 0.1 * (f.text_data_terms = 0)::INT AS score,
    [
        {'source': 'clickhouse', 'object_id': coalesce(f.org_id, f.organization_id::VARCHAR),
         'summary': CASE WHEN f.org_no_traffic
             THEN 'No API traffic from this customer in the 8 days before the ticket; no billing problem or matching bug'
             ELSE printf('No anomaly: 5xx %.1f%%, 4xx %.1f%%, 429 %.1f%%, p95 %.0f ms over %d requests in the 24h before the ticket, in line with the 7-day baseline (5xx %.1f%%, 4xx %.1f%%)',
                         100 * coalesce(f.org_rate_5xx_24h, 0), 100 * coalesce(f.org_rate_4xx_24h, 0),
                         100 * coalesce(f.org_rate_429_24h, 0), coalesce(f.org_p95_ms_24h, 0),
                         f.org_requests_24h, 100 * f.org_base_rate_5xx, 100 * f.org_base_rate_4xx)
             END,
         'link': NULL,
         'reproducing_query': 'SELECT count() AS requests, countIf(status >= 500) / count() AS rate_5xx, countIf(status >= 400 AND status < 500 AND status != 429) / count() AS rate_4xx, countIf(status = 429) / count() AS rate_429, quantile(0.95)(latency_ms) AS p95_ms FROM {database:Identifier}.requests WHERE org_id = {org_id:String} AND ts >= {start:DateTime64(3, ''UTC'')} AND ts < {end:DateTime64(3, ''UTC'')}',
         'query_parameters': json_object('database', $clickhouse_database, 'org_id', f.org_id,
             'start', strftime(date_trunc('minute', f.investigated_at - INTERVAL 24 HOUR), '%Y-%m-%d %H:%M:%S.000'),
             'end', strftime(date_trunc('minute', f.investigated_at), '%Y-%m-%d %H:%M:%S.000'))::VARCHAR}
    ] AS evidence
FROM features.fct_ticket_features AS f
WHERE NOT f.org_anomalous_errors_or_latency
  AND NOT f.org_anomalous_429
  AND f.ticket_id NOT IN (SELECT ticket_id FROM heuristics.explained_tickets)
