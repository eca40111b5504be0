-- The production deploy that best explains the onset of the customer's anomaly, if any: a
-- deploy counts from its first `success` status at or before the investigation time; a
-- candidate went live in the 24h before the onset (up to 5 minutes after it: minute buckets).
-- Preferred: a deploy of a service that served this customer's failing requests, then the
-- latest. With the later deploy of the same service by t, if any (a revert or fix). One row
-- per ticket with a candidate (features/ticket_deploys.sql adds the step change).
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
later AS (
    SELECT b.ticket_id, arg_min(d.deployment_id, {'at': d.deployed_at, 'id': d.deployment_id}) AS later_deployment_id,
        min(d.deployed_at) AS later_deployed_at
    FROM best AS b
    JOIN intermediate.int_production_deploys AS d
        ON d.service = b.service AND d.deployed_at > b.deployed_at AND d.deployed_at <= b.t
    GROUP BY b.ticket_id
)
SELECT b.ticket_id, b.t, b.onset_at, b.deployment_id, b.service, b.sha, b.url, b.deployed_at,
    b.serves_failing_endpoints, l.later_deployment_id, l.later_deployed_at
FROM best AS b
LEFT JOIN later AS l USING (ticket_id)
