-- How recently the service carrying the customer's errors was deployed, at the investigation
-- time. A deploy regression reaches the help desk within hours of a deploy of the failing
-- service; the other causes at no particular distance from one (docs/classifier.md, "The
-- failing service's last deploy"). Unlike ticket_deploy_candidates this needs no onset of the
-- customer's own errors, which a vague or slow ticket may not show.
-- The service: the one whose platform-wide change ticket_service_onset looked at, else the
-- service of the customer's error key most above its baseline (ticket_endpoint_excess). A
-- deploy counts from its first `success` status (int_production_deploys), live by t; a week
-- back at most. No service, or no deploy of it in that week: NULL minutes, 0 deploys.
WITH svc AS (
    SELECT i.ticket_id, i.investigated_at AS t, coalesce(so.onset_service, e.service) AS service
    FROM intermediate.int_ticket_investigations AS i
    LEFT JOIN features.ticket_service_onset AS so USING (ticket_id)
    LEFT JOIN features.ticket_endpoint_excess AS e
        ON e.ticket_id = i.ticket_id AND e.excess_rank = 1
)
SELECT s.ticket_id,
    s.service AS failing_service,
    date_diff('second', max(d.deployed_at), s.t) / 60.0 AS minutes_since_service_deploy,
    count(d.deployment_id) FILTER (WHERE d.deployed_at > s.t - INTERVAL 24 HOUR)
        AS service_deploys_24h
FROM svc AS s
LEFT JOIN intermediate.int_production_deploys AS d
    ON d.service = s.service AND d.deployed_at <= s.t AND d.deployed_at > s.t - INTERVAL 7 DAY
GROUP BY s.ticket_id, s.service, s.t
