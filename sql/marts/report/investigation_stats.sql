-- Investigation time per period: median, p90, tickets measured.
-- Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT period, median_minutes, p90_minutes, tickets_measured
FROM marts.mart_investigation_time
WHERE ticket_group = 'all'
ORDER BY period DESC
