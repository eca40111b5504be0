-- One row per investigated ticket: each cause's rule score (0 when its rule did not fire),
-- the best rule cause (highest score; ties go to the earlier cause in the taxonomy order
-- below), and the rules that fired.
WITH fired AS (
    SELECT ticket_id, cause, score FROM heuristics.rule_known_bug
    UNION ALL SELECT ticket_id, cause, score FROM heuristics.rule_deploy_regression
    UNION ALL SELECT ticket_id, cause, score FROM heuristics.rule_platform_incident
    UNION ALL SELECT ticket_id, cause, score FROM heuristics.rule_plan_limit
    UNION ALL SELECT ticket_id, cause, score FROM heuristics.rule_billing_issue
    UNION ALL SELECT ticket_id, cause, score FROM heuristics.rule_customer_integration
    UNION ALL SELECT ticket_id, cause, score FROM heuristics.rule_how_to
    UNION ALL SELECT ticket_id, cause, score FROM heuristics.rule_misrouted
    UNION ALL SELECT ticket_id, cause, score FROM heuristics.rule_novel
),
ordered AS (
    SELECT f.*, o.priority
    FROM fired AS f
    JOIN (VALUES ('deploy_regression', 1), ('platform_incident', 2), ('known_bug', 3),
                 ('billing_issue', 4), ('plan_limit', 5), ('customer_integration', 6),
                 ('how_to', 7), ('misrouted', 8), ('novel', 9)) AS o(cause, priority)
        USING (cause)
)
SELECT
    i.ticket_id,
    coalesce(max(o.score) FILTER (WHERE o.cause = 'known_bug'), 0) AS score_known_bug,
    coalesce(max(o.score) FILTER (WHERE o.cause = 'deploy_regression'), 0) AS score_deploy_regression,
    coalesce(max(o.score) FILTER (WHERE o.cause = 'platform_incident'), 0) AS score_platform_incident,
    coalesce(max(o.score) FILTER (WHERE o.cause = 'plan_limit'), 0) AS score_plan_limit,
    coalesce(max(o.score) FILTER (WHERE o.cause = 'billing_issue'), 0) AS score_billing_issue,
    coalesce(max(o.score) FILTER (WHERE o.cause = 'customer_integration'), 0)
        AS score_customer_integration,
    coalesce(max(o.score) FILTER (WHERE o.cause = 'how_to'), 0) AS score_how_to,
    coalesce(max(o.score) FILTER (WHERE o.cause = 'misrouted'), 0) AS score_misrouted,
    coalesce(max(o.score) FILTER (WHERE o.cause = 'novel'), 0) AS score_novel,
    coalesce(arg_max(o.cause, (o.score, -o.priority)), 'novel') AS best_rule_cause,
    coalesce(max(o.score), 0) AS best_rule_score,
    coalesce(list_sort(list(o.cause) FILTER (WHERE o.cause IS NOT NULL)), []) AS rules_fired
FROM intermediate.int_ticket_investigations AS i
LEFT JOIN ordered AS o USING (ticket_id)
GROUP BY i.ticket_id
