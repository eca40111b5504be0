-- The production deploy that best explains the onset of the customer's anomaly, if any.
-- A deploy counts from its first `success` status at or before the investigation time; a
-- candidate went live in the 24h before the onset (up to 5 minutes after it: minute buckets).
-- Preferred: a deploy of a service that served this customer's failing requests (service is a
-- column of the request logs: no hand-made map), then the latest. Step change, platform-wide
-- for that service: error rate (4xx other than 429, plus 5xx) and p95 in the hour after the
-- deploy (cut at t) vs the 6 hours before, each rate plus the pooled rate of both windows; a later deploy of the same service by t (a revert or
-- fix) is reported too.
WITH step AS (
    -- the service's windows, summed per ticket in ClickHouse (sql/clickhouse/ticket_deploy_steps.sql)
    -- eps: the pooled error rate of both windows (+1 error): a ratio near 1 when nothing
    -- changed, whatever the two windows' request counts
    SELECT *, (err_before + err_after + 1) / (req_before + req_after + 1) AS eps
    FROM logs.ticket_deploy_steps
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
    b.later_deployment_id IS NOT NULL AS later_deploy_of_service,
    b.later_deployment_id,
    b.later_deployed_at
FROM features.ticket_deploy_candidates AS b
LEFT JOIN step AS s USING (ticket_id)
