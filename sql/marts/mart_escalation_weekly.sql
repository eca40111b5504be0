-- Escalation rate per week of ticket creation (Monday weeks, UTC) and period: overall (grain
-- 'week'), per customer ('week_customer') and per recorded root cause ('week_cause'; tickets
-- with no recorded cause under 'unrecorded'). In-scope tickets only (not deleted, not merged).
-- The week that holds go-live has one row per period (before, after), so no weekly rate mixes
-- manual and automated handling. Still-open tickets count as not escalated yet: the latest
-- weeks are provisional.
WITH t AS (
    SELECT *, coalesce(recorded_root_cause, 'unrecorded') AS cause
    FROM marts.mart_ticket_outcomes
    WHERE is_in_scope
)
SELECT
    CASE
        WHEN grouping(organization_id) = 0 THEN 'week_customer'
        WHEN grouping(cause) = 0 THEN 'week_cause'
        ELSE 'week'
    END AS grain,
    created_week AS week_start,
    period,
    organization_id,
    CASE WHEN grouping(organization_id) = 0 THEN any_value(org_id) END AS org_id,
    CASE WHEN grouping(organization_id) = 0 THEN any_value(organization_name) END
        AS organization_name,
    cause AS recorded_root_cause,
    count(*) AS tickets,
    count(*) FILTER (WHERE is_escalated) AS escalated_tickets,
    count(*) FILTER (WHERE is_escalated) / count(*) AS escalation_rate,
    count(*) FILTER (WHERE escalation_cause = 'system_access') AS system_access_escalations,
    count(*) FILTER (WHERE escalation_cause = 'novel') AS novel_escalations,
    count(*) FILTER (WHERE escalation_cause = 'misrouted') AS misrouted_escalations,
    count(*) FILTER (WHERE is_avoidable_escalation) AS avoidable_escalations
FROM t
GROUP BY GROUPING SETS ((created_week, period), (created_week, period, organization_id),
                        (created_week, period, cause))
