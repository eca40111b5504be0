-- The classifier per week: delivered share and agreement with the agents.
-- Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT week_start, delivered_share, agreement_rate, diagnosed_tickets, delivered, agreed
FROM marts.mart_model_performance_weekly
WHERE grain = 'week'
ORDER BY week_start
