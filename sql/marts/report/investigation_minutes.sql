-- Every in-scope ticket's investigation minutes, per period (the distribution chart).
-- Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT period, investigation_minutes
FROM marts.mart_ticket_outcomes
WHERE is_in_scope AND investigation_minutes IS NOT NULL
ORDER BY period, investigation_minutes
