-- Investigation time before and after go-live: creation -> first automated diagnosis (after
-- go-live) or -> first internal agent finding (manual; see mart_ticket_outcomes). Per period and
-- ticket group ('all', 'escalated', 'not_escalated'); in-scope tickets with a measured time.
WITH t AS (
    SELECT period, is_escalated, investigation_minutes, investigation_source
    FROM marts.mart_ticket_outcomes
    WHERE is_in_scope
),
grouped AS (
    SELECT period, 'all' AS ticket_group, * EXCLUDE (period) FROM t
    UNION ALL
    SELECT period, CASE WHEN is_escalated THEN 'escalated' ELSE 'not_escalated' END,
           * EXCLUDE (period)
    FROM t
)
SELECT
    period,
    ticket_group,
    count(*) AS tickets,
    count(investigation_minutes) AS tickets_measured,
    count(*) FILTER (WHERE investigation_source = 'diagnosis') AS measured_by_diagnosis,
    count(*) FILTER (WHERE investigation_source = 'manual') AS measured_manually,
    median(investigation_minutes) AS median_minutes,
    quantile_cont(investigation_minutes, 0.9) AS p90_minutes,
    avg(investigation_minutes) AS mean_minutes
FROM grouped
GROUP BY period, ticket_group
