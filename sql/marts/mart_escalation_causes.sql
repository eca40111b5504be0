-- Escalations per period attributed to the three reasons tickets go to engineering:
--   misrouted      recorded cause `misrouted`, or (cause not recorded as novel) moved after the
--                  escalation to a non-engineering group other than its frontline group
--   novel          recorded cause `novel`
--   system_access  every other escalation: the agent needed to see production systems
-- avoidable_escalations: system-access escalations whose recorded cause needs no engineer
--   (known_bug, platform_incident, plan_limit, billing_issue, customer_integration, how_to).
-- removable_by_diagnosis: escalations whose first diagnosis was delivered with that same
--   recorded cause, not flagged to escalate: the diagnosis would have kept them at the frontline.
-- In-scope tickets only (not deleted, not merged).
WITH t AS (
    SELECT * FROM marts.mart_ticket_outcomes WHERE is_in_scope
),
causes AS (
    SELECT * FROM (VALUES (1, 'system_access'), (2, 'novel'), (3, 'misrouted'))
        v(sort_order, escalation_cause)
),
periods AS (
    SELECT period, count(*) AS tickets, count(*) FILTER (WHERE is_escalated) AS escalations
    FROM t GROUP BY period
),
per_cause AS (
    SELECT
        period,
        escalation_cause,
        count(*) AS escalations,
        count(*) FILTER (WHERE escalation_cause_source = 'routing') AS attributed_by_routing,
        count(*) FILTER (WHERE is_avoidable_escalation) AS avoidable_escalations,
        count(*) FILTER (WHERE is_diagnosis_delivered) AS diagnosed_escalations,
        count(*) FILTER (WHERE is_removable_by_diagnosis) AS removable_by_diagnosis
    FROM t
    WHERE is_escalated
    GROUP BY ALL
)
SELECT
    p.period,
    c.escalation_cause,
    c.sort_order,
    p.tickets,
    p.escalations AS total_escalations,
    coalesce(e.escalations, 0) AS escalations,
    coalesce(e.escalations, 0) / nullif(p.escalations, 0) AS share_of_escalations,
    coalesce(e.escalations, 0) / p.tickets AS escalations_per_ticket,
    coalesce(e.attributed_by_routing, 0) AS attributed_by_routing,
    coalesce(e.avoidable_escalations, 0) AS avoidable_escalations,
    coalesce(e.diagnosed_escalations, 0) AS diagnosed_escalations,
    coalesce(e.removable_by_diagnosis, 0) AS removable_by_diagnosis
FROM periods AS p
CROSS JOIN causes AS c
LEFT JOIN per_cause AS e ON e.period = p.period AND e.escalation_cause = c.escalation_cause
ORDER BY p.period DESC, c.sort_order
