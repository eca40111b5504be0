-- Tickets a rule with evidence in the data explains (known bug, deploy regression, platform
-- incident, plan limit, billing issue, customer integration): how_to and novel apply only to
-- the others. Grain: one row per ticket.
SELECT ticket_id FROM heuristics.rule_known_bug
UNION SELECT ticket_id FROM heuristics.rule_deploy_regression
UNION SELECT ticket_id FROM heuristics.rule_platform_incident
UNION SELECT ticket_id FROM heuristics.rule_plan_limit
UNION SELECT ticket_id FROM heuristics.rule_billing_issue
UNION SELECT ticket_id FROM heuristics.rule_customer_integration
