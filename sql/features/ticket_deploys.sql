-- The production deploy that best explains the onset of the customer's anomaly, if any.
-- A deploy counts from its first `success` status at or before the investigation time; a
-- candidate went live in the 24h before the onset (up to 5 minutes after it: minute buckets).
-- Preferred: a deploy of a service that served this customer's failing requests (service is a
-- column of the request logs: no hand-made map), then the latest. Step change, platform-wide
-- for that service: error rate (4xx other than 429, plus 5xx) and p95 in the hour after the
-- deploy (cut at t) vs the 6 hours before, each rate plus the pooled rate of both windows; a later deploy of the same service by t (a revert or
-- fix) is reported too.
WITH inv AS (
    SELECT i.ticket_id, i.org_id, i.investigated_at AS t, o.onset_at
    FROM intermediate.int_ticket_investigations AS i
    JOIN features.ticket_onset AS o USING (ticket_id)
    WHERE o.onset_at IS NOT NULL
),
failing AS (
    SELECT ticket_id, service, sum(excess) AS service_excess
    FROM features.ticket_endpoint_excess
    WHERE excess > 0
    GROUP BY ticket_id, service
),
cand AS (
    SELECT i.ticket_id, i.t, i.onset_at, d.deployment_id, d.service, d.sha, d.url, d.deployed_at,
        f.service IS NOT NULL AS serves_failing_endpoints,
        row_number() OVER (PARTITION BY i.ticket_id
            ORDER BY f.service IS NOT NULL DESC, d.deployed_at DESC, d.deployment_id DESC) AS rk
    FROM inv AS i
    JOIN intermediate.int_production_deploys AS d
        ON d.deployed_at <= i.t
       AND d.deployed_at <= i.onset_at + INTERVAL 5 MINUTE
       AND d.deployed_at >= i.onset_at - INTERVAL 24 HOUR
    LEFT JOIN failing AS f ON f.ticket_id = i.ticket_id AND f.service = d.service
),
best AS (SELECT * FROM cand WHERE rk = 1),
bounds0 AS (
    SELECT b.ticket_id, b.service, x.k,
        date_trunc('minute', CASE x.k
            WHEN 'before' THEN b.deployed_at - INTERVAL 6 HOUR
            WHEN 'deploy' THEN b.deployed_at
            ELSE least(b.deployed_at + INTERVAL 1 HOUR, b.t) END) AS x
    FROM best AS b CROSS JOIN (VALUES ('before'), ('deploy'), ('after')) AS x(k)
),
bounds AS (SELECT *, date_trunc('hour', x) AS xh FROM bounds0),
part AS (
    SELECT b.ticket_id, b.k, sum(m.requests) AS req, sum(m.n_err) AS err,
        sum(m.p95_wsum) AS p95w
    FROM bounds AS b
    JOIN intermediate.int_ticket_service_minutes AS m
        ON m.service = b.service AND m.hour = b.xh AND m.minute < b.x
    GROUP BY b.ticket_id, b.k
),
cum AS (
    -- prefix sums before each boundary: hourly running total + the boundary's partial hour
    SELECT b.ticket_id, b.k,
        coalesce(m.cum_requests, 0) + coalesce(q.req, 0) AS req,
        coalesce(m.cum_err, 0) + coalesce(q.err, 0) AS err,
        coalesce(m.cum_p95_wsum, 0) + coalesce(q.p95w, 0) AS p95w
    FROM bounds AS b
    ASOF LEFT JOIN intermediate.int_ticket_service_hours AS m
        ON b.service = m.service AND b.xh - INTERVAL 1 HOUR >= m.hour
    LEFT JOIN part AS q ON q.ticket_id = b.ticket_id AND q.k = b.k
),
step0 AS (
    SELECT ticket_id,
        max(req) FILTER (WHERE k = 'deploy') - max(req) FILTER (WHERE k = 'before') AS req_before,
        max(err) FILTER (WHERE k = 'deploy') - max(err) FILTER (WHERE k = 'before') AS err_before,
        max(p95w) FILTER (WHERE k = 'deploy') - max(p95w) FILTER (WHERE k = 'before') AS p95w_before,
        max(req) FILTER (WHERE k = 'after') - max(req) FILTER (WHERE k = 'deploy') AS req_after,
        max(err) FILTER (WHERE k = 'after') - max(err) FILTER (WHERE k = 'deploy') AS err_after,
        max(p95w) FILTER (WHERE k = 'after') - max(p95w) FILTER (WHERE k = 'deploy') AS p95w_after
    FROM cum GROUP BY ticket_id
),
step AS (
    -- eps: the pooled error rate of both windows (+1 error): a ratio near 1 when nothing
    -- changed, whatever the two windows' request counts
    SELECT *, (err_before + err_after + 1) / (req_before + req_after + 1) AS eps FROM step0
),
later AS (
    SELECT b.ticket_id, arg_min(d.deployment_id, {'at': d.deployed_at, 'id': d.deployment_id}) AS later_deployment_id,
        min(d.deployed_at) AS later_deployed_at
    FROM best AS b
    JOIN intermediate.int_production_deploys AS d
        ON d.service = b.service AND d.deployed_at > b.deployed_at AND d.deployed_at <= b.t
    GROUP BY b.ticket_id
)
SELECT
    b.ticket_id,
    b.deployment_id,
    b.service AS deploy_service,
    b.sha AS deploy_sha,
    b.url AS deploy_api_url,
    regexp_extract(b.url, 'repos/([^/]+/[^/]+)/', 1) AS deploy_repo,
    b.deployed_at,
    b.onset_at,
    date_diff('second', b.deployed_at, b.onset_at) / 60.0 AS minutes_deploy_to_onset,
    b.serves_failing_endpoints,
    s.req_before::BIGINT AS service_requests_before,
    s.err_before / nullif(s.req_before, 0) AS service_error_rate_before,
    s.req_after::BIGINT AS service_requests_after,
    s.err_after / nullif(s.req_after, 0) AS service_error_rate_after,
    s.p95w_before / nullif(s.req_before, 0) AS service_p95_ms_before,
    s.p95w_after / nullif(s.req_after, 0) AS service_p95_ms_after,
    (s.err_after / nullif(s.req_after, 0) + s.eps) / (s.err_before / nullif(s.req_before, 0) + s.eps)
        AS error_step_ratio,
    (s.p95w_after / nullif(s.req_after, 0)) / nullif(s.p95w_before / nullif(s.req_before, 0), 0)
        AS latency_step_ratio,
    greatest(
        (s.err_after / nullif(s.req_after, 0) + s.eps) / (s.err_before / nullif(s.req_before, 0) + s.eps),
        coalesce((s.p95w_after / nullif(s.req_after, 0))
            / nullif(s.p95w_before / nullif(s.req_before, 0), 0), 0)) AS step_change_score,
    l.later_deployment_id IS NOT NULL AS later_deploy_of_service,
    l.later_deployment_id,
    l.later_deployed_at
FROM best AS b
LEFT JOIN step AS s USING (ticket_id)
LEFT JOIN later AS l USING (ticket_id)
