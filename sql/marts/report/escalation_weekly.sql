-- Escalation rate per week and period (the go-live week has a row before and one after).
-- Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT week_start, period, escalation_rate
FROM marts.mart_escalation_weekly
WHERE grain = 'week'
ORDER BY week_start, period DESC
