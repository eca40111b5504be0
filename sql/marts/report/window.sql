-- The report's window: first and last ticket, tickets, tickets in scope.
-- Read by the escalation report (altor_pipelines/reporting/report.py).
SELECT min(created_at), max(created_at), count(*), count(*) FILTER (WHERE is_in_scope)
FROM marts.mart_ticket_outcomes
