-- When the service carrying the customer's errors changed, platform-wide, and which deploy of
-- it went live just before. The service: the one of the customer's error key most above its
-- baseline in the last 3h (ticket_endpoint_excess). Its error rate (4xx other than 429, plus
-- 5xx; all customers) over the 7 days before the 24h window is p0, over the last hour p1; when
-- p1 > p0 the onset is the CUSUM change point of p0 -> p1 in the 24h before t (as
-- ticket_onset, on the service's minutes). A deploy regression changes the whole service right
-- after a deploy of it; an incident changes it with no deploy just before; a customer's own
-- problem does not change it at all (p1 near p0). The other customers of that service in the
-- last hour (requests, errors, how many of them had errors) tell many customers at once from
-- one customer's own trouble, from the logs alone.
WITH s AS (
    -- the service's figures, computed per ticket in ClickHouse
    -- (sql/clickhouse/ticket_service_onset.sql); no baseline hour: no row
    SELECT l.*, i.investigated_at AS t,
        (l.base_errors + 1) / (l.base_requests + 1) AS p0,
        CASE WHEN l.minutes_24h > 0 THEN (l.errors_1h + 1) / (l.requests_1h + 1) END AS p1
    FROM logs.ticket_service_onset AS l
    JOIN intermediate.int_ticket_investigations AS i USING (ticket_id)
    WHERE l.base_hours > 0
),
prior AS (
    -- the latest deploy of the service live by the onset (minute buckets: up to 5 min after)
    SELECT o.ticket_id, max(d.deployed_at) AS deployed_at,
        arg_max(d.deployment_id, [epoch(d.deployed_at), d.deployment_id]) AS deployment_id,
        arg_max(d.sha, [epoch(d.deployed_at), d.deployment_id]) AS sha,
        arg_max(d.url, [epoch(d.deployed_at), d.deployment_id]) AS url
    FROM s AS o
    JOIN intermediate.int_production_deploys AS d
        ON d.service = o.service AND d.deployed_at <= o.t
       AND d.deployed_at <= o.service_onset_at + INTERVAL 5 MINUTE
       AND d.deployed_at >= o.service_onset_at - INTERVAL 24 HOUR
    GROUP BY o.ticket_id
)
SELECT
    b.ticket_id,
    b.service AS onset_service,
    b.p0 AS onset_service_base_error_rate,
    b.p1 AS onset_service_error_rate_1h,
    b.p1 / b.p0 AS onset_service_error_ratio,
    b.service_onset_at,
    date_diff('second', b.service_onset_at, b.t) / 60.0 AS minutes_service_onset_to_investigation,
    date_diff('second', p.deployed_at, b.service_onset_at) / 60.0
        AS minutes_deploy_to_service_onset,
    p.deployment_id AS service_onset_deployment_id,
    p.sha AS service_onset_deploy_sha,
    p.url AS service_onset_deploy_api_url,
    p.deployed_at AS service_onset_deployed_at,
    coalesce(b.other_orgs_1h, 0) AS onset_service_other_orgs_1h,
    coalesce(b.other_orgs_with_errors_1h, 0) AS onset_service_other_orgs_with_errors_1h,
    coalesce(b.other_requests_1h, 0) AS onset_service_other_requests_1h,
    coalesce(b.other_errors_1h, 0) AS onset_service_other_errors_1h,
    -- the other customers' error rate on the service in the last hour over its baseline
    ((coalesce(b.other_errors_1h, 0) + 1) / (coalesce(b.other_requests_1h, 0) + 1)) / b.p0
        AS onset_service_other_error_ratio
FROM s AS b
LEFT JOIN prior AS p USING (ticket_id)
