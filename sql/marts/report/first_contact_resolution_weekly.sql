-- First-contact resolution rate per week.
-- Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT week_start, first_contact_resolution_rate
FROM marts.mart_first_contact_resolution_weekly
ORDER BY week_start
