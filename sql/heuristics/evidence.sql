-- Every rule's evidence, one row per cited object: what a human reads in the diagnosis note.
-- source: clickhouse | linear | github_deployment | stripe_invoice | stripe_charge |
-- stripe_subscription | zendesk. object_id: the Linear identifier, deployment id, Stripe id,
-- for ClickHouse the org id, the service, or 'platform', for Zendesk the group that similar
-- past tickets were resolved by. link: the vendor's URL (NULL for
-- ClickHouse). reproducing_query: ClickHouse SQL with {name:Type} placeholders (parameters in
-- query_parameters, JSON) or the vendor API call.
WITH fired AS (
    SELECT ticket_id, cause, score, evidence FROM heuristics.rule_known_bug
    UNION ALL SELECT ticket_id, cause, score, evidence FROM heuristics.rule_deploy_regression
    UNION ALL SELECT ticket_id, cause, score, evidence FROM heuristics.rule_platform_incident
    UNION ALL SELECT ticket_id, cause, score, evidence FROM heuristics.rule_plan_limit
    UNION ALL SELECT ticket_id, cause, score, evidence FROM heuristics.rule_billing_issue
    UNION ALL SELECT ticket_id, cause, score, evidence FROM heuristics.rule_customer_integration
    UNION ALL SELECT ticket_id, cause, score, evidence FROM heuristics.rule_how_to
    UNION ALL SELECT ticket_id, cause, score, evidence FROM heuristics.rule_misrouted
    UNION ALL SELECT ticket_id, cause, score, evidence FROM heuristics.rule_novel
),
rows AS (
    SELECT ticket_id, cause, score AS rule_score, unnest(evidence) AS e FROM fired
)
SELECT
    ticket_id,
    cause,
    rule_score,
    e.source AS source,
    e.object_id AS object_id,
    e.summary AS summary,
    e.link AS link,
    e.reproducing_query AS reproducing_query,
    e.query_parameters AS query_parameters
FROM rows
