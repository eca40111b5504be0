-- ClickHouse dialect. What a per-ticket agent asks the log store for one ticket (the loop of
-- altor_sim/bench/per_ticket.py, against which the set-based investigation is measured): the
-- customer's requests in the 24 hours before the ticket's investigation time, per minute,
-- endpoint and status, with their p95 latency.
SELECT toStartOfMinute(ts) AS minute, endpoint, status, count() AS requests,
    quantile(0.95)(latency_ms) AS p95_ms
FROM {database:Identifier}.requests
WHERE org_id = {org_id:String}
  AND ts >= {start:DateTime64(3, 'UTC')} AND ts < {end:DateTime64(3, 'UTC')}
GROUP BY minute, endpoint, status
ORDER BY minute, endpoint, status
