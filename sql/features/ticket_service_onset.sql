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
WITH inv AS (
    SELECT i.ticket_id, i.investigated_at AS t,
        arg_max(e.service, [e.excess_3h, -e.excess_rank]) AS service
    FROM intermediate.int_ticket_investigations AS i
    JOIN features.ticket_endpoint_excess AS e USING (ticket_id)
    WHERE e.excess_3h > 0
    GROUP BY ALL
),
base AS (
    SELECT i.ticket_id, i.t, i.service,
        (sum(h.n_err) + 1) / (sum(h.requests) + 1) AS p0
    FROM inv AS i
    JOIN intermediate.int_ticket_service_hours AS h
        ON h.service = i.service
       AND h.hour >= date_trunc('hour', i.t - INTERVAL 24 HOUR) - INTERVAL 7 DAY
       AND h.hour < date_trunc('hour', i.t - INTERVAL 24 HOUR)
    GROUP BY ALL
),
mins AS (
    SELECT b.ticket_id, b.t, b.service, b.p0, m.minute, m.requests, m.n_err
    FROM base AS b
    JOIN intermediate.int_ticket_service_minutes AS m
        ON m.service = b.service
       AND m.hour >= date_trunc('hour', b.t - INTERVAL 24 HOUR) AND m.hour <= b.t
    WHERE m.minute >= date_trunc('minute', b.t - INTERVAL 24 HOUR)
      AND m.minute < date_trunc('minute', b.t)
),
cur AS (
    SELECT ticket_id,
        (sum(n_err) FILTER (WHERE minute >= t - INTERVAL 1 HOUR) + 1)
            / (sum(requests) FILTER (WHERE minute >= t - INTERVAL 1 HOUR) + 1) AS p1
    FROM mins GROUP BY ticket_id
),
scored AS (
    SELECT m.*, c.p1,
        sum(m.n_err * ln(c.p1 / m.p0) - m.requests * (c.p1 - m.p0)) OVER (
            PARTITION BY m.ticket_id ORDER BY m.minute DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS llr_suffix
    FROM mins AS m JOIN cur AS c USING (ticket_id)
    WHERE c.p1 > m.p0
),
onset AS (
    SELECT ticket_id, any_value(t) AS t, any_value(service) AS service,
        any_value(p0) AS p0, any_value(p1) AS p1,
        arg_max(minute, (llr_suffix, -epoch(minute))) AS service_onset_at
    FROM scored GROUP BY ticket_id
),
other_hours AS (
    SELECT ticket_id, t, service, org_id, unnest(generate_series(
        date_trunc('hour', t - INTERVAL 1 HOUR), date_trunc('hour', t), INTERVAL 1 HOUR)) AS hour
    FROM inv JOIN intermediate.int_ticket_investigations USING (ticket_id)
),
other_orgs AS (
    SELECT h.ticket_id, r.org_id, sum(r.requests) AS requests,
        coalesce(sum(r.requests) FILTER (WHERE r.status >= 400 AND r.status <> 429), 0) AS n_err
    FROM other_hours AS h
    JOIN staging.stg_clickhouse__request_minutes AS r
        ON r.service = h.service AND date_trunc('hour', r.minute) = h.hour
       AND r.org_id IS DISTINCT FROM h.org_id
    WHERE r.minute >= date_trunc('minute', h.t - INTERVAL 1 HOUR)
      AND r.minute < date_trunc('minute', h.t)
    GROUP BY h.ticket_id, r.org_id
),
others AS (
    SELECT ticket_id, sum(requests) AS requests, sum(n_err) AS n_err,
        count(*) AS orgs, count(*) FILTER (WHERE n_err > 0) AS orgs_with_errors
    FROM other_orgs GROUP BY ticket_id
),
prior AS (
    -- the latest deploy of the service live by the onset (minute buckets: up to 5 min after)
    SELECT o.ticket_id, max(d.deployed_at) AS deployed_at,
        arg_max(d.deployment_id, [epoch(d.deployed_at), d.deployment_id]) AS deployment_id,
        arg_max(d.sha, [epoch(d.deployed_at), d.deployment_id]) AS sha,
        arg_max(d.url, [epoch(d.deployed_at), d.deployment_id]) AS url
    FROM onset AS o
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
    c.p1 AS onset_service_error_rate_1h,
    c.p1 / b.p0 AS onset_service_error_ratio,
    o.service_onset_at,
    date_diff('second', o.service_onset_at, b.t) / 60.0 AS minutes_service_onset_to_investigation,
    date_diff('second', p.deployed_at, o.service_onset_at) / 60.0
        AS minutes_deploy_to_service_onset,
    p.deployment_id AS service_onset_deployment_id,
    p.sha AS service_onset_deploy_sha,
    p.url AS service_onset_deploy_api_url,
    p.deployed_at AS service_onset_deployed_at,
    coalesce(x.orgs, 0) AS onset_service_other_orgs_1h,
    coalesce(x.orgs_with_errors, 0) AS onset_service_other_orgs_with_errors_1h,
    coalesce(x.requests, 0) AS onset_service_other_requests_1h,
    coalesce(x.n_err, 0) AS onset_service_other_errors_1h,
    -- the other customers' error rate on the service in the last hour over its baseline
    ((coalesce(x.n_err, 0) + 1) / (coalesce(x.requests, 0) + 1)) / b.p0
        AS onset_service_other_error_ratio
FROM base AS b
LEFT JOIN cur AS c USING (ticket_id)
LEFT JOIN onset AS o USING (ticket_id)
LEFT JOIN prior AS p USING (ticket_id)
LEFT JOIN others AS x USING (ticket_id)
