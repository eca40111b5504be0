-- Escalation rate per week.
-- Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT week_start, escalation_rate
FROM marts.mart_escalation_weekly
WHERE grain = 'week'
ORDER BY week_start
