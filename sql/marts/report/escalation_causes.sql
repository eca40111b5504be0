-- Escalations by cause group, per period.
-- Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT period, escalation_cause, escalations, share_of_escalations, total_escalations,
       avoidable_escalations, diagnosed_escalations, removable_by_diagnosis
FROM marts.mart_escalation_causes
ORDER BY period DESC, sort_order
