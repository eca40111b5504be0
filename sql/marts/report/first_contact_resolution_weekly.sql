-- First-contact resolution rate per week and period (the go-live week has a row before and
-- one after).
-- Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT week_start, period, first_contact_resolution_rate
FROM marts.mart_first_contact_resolution_weekly
ORDER BY week_start, period DESC
